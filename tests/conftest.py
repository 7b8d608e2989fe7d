from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import OrganizerFactory, ScreeningFactory


def pytest_unconfigure(config):  # type: ignore[no-untyped-def]
    """Django deletes the SQLite test database's file but not its write-ahead log beside it."""
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME") if settings.configured else None
    if name and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for suffix in ("-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploaded stimuli and frames go to a temporary folder, never into the checkout."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    """Rate limits and throttles count in the cache: each test starts with none counted."""
    cache.clear()


@pytest.fixture
def organizer(db):  # type: ignore[no-untyped-def]
    return OrganizerFactory(username="alice")


@pytest.fixture
def other_organizer(db):  # type: ignore[no-untyped-def]
    """The second organizer, who must be refused everything that belongs to ``organizer``."""
    return OrganizerFactory(username="mallory")


@pytest.fixture
def screening(organizer):  # type: ignore[no-untyped-def]
    return ScreeningFactory(owner=organizer)


@pytest.fixture
def organizer_client(organizer) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(organizer)
    return client


@pytest.fixture
def other_organizer_client(other_organizer) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(other_organizer)
    return client


@pytest.fixture
def api(organizer) -> APIClient:  # type: ignore[no-untyped-def]
    """The organizer's API client (session-less, authenticated directly)."""
    client = APIClient()
    client.force_authenticate(organizer)
    return client


@pytest.fixture
def other_api(other_organizer) -> APIClient:  # type: ignore[no-untyped-def]
    """The second organizer's API client, who must be refused everything of ``organizer``'s."""
    client = APIClient()
    client.force_authenticate(other_organizer)
    return client
