"""Migration 0006 renames Marker to Scene: the scenes an organizer defined survive it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("screenings", "0005_media_analyses")]
AFTER = [("screenings", "0006_scene")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_scenes_defined_as_markers_are_kept_by_the_rename():
    old = migrate(BEFORE)
    owner = old.get_model("auth", "User").objects.create(username="organizer", is_staff=True)
    screening = old.get_model("screenings", "Screening").objects.create(title="T", slug="t", owner=owner)
    old.get_model("screenings", "Marker").objects.create(screening=screening, start=0, end=5, label="Logo")
    new = migrate(AFTER)
    [scene] = new.get_model("screenings", "Scene").objects.all()
    assert (scene.screening_id, scene.start, scene.end, scene.label) == (screening.pk, 0, 5, "Logo")
