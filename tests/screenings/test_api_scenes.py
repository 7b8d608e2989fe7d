"""The scene scenes of a screening through the organizer API."""

import pytest

from screenings.models import Scene, Screening
from tests.factories import SceneFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def scenes_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/scenes/"


def scene_url(scene: Scene) -> str:
    return f"{scenes_url(scene.screening)}{scene.pk}/"


class TestSceneCrud:
    def test_a_scene_is_created(self, api, screening):
        response = api.post(scenes_url(screening), {"start": 0, "end": 4.5, "label": "Logo"}, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["start"], body["end"], body["label"]) == (0.0, 4.5, "Logo")
        assert Scene.objects.get().screening == screening

    def test_the_list_holds_this_screenings_scenes_by_start(self, api, screening):
        SceneFactory(screening=screening, start=10, end=20, label="Chase")
        SceneFactory(screening=screening, start=0, end=10, label="Opening")
        SceneFactory(screening=ScreeningFactory(owner=screening.owner), label="Elsewhere")
        rows = api.get(scenes_url(screening)).json()["results"]
        assert [row["label"] for row in rows] == ["Opening", "Chase"]

    def test_one_scene_is_read(self, api, screening):
        scene = SceneFactory(screening=screening)
        assert api.get(scene_url(scene)).json()["label"] == "Opening"

    def test_patch_moves_a_scene(self, api, screening):
        scene = SceneFactory(screening=screening, start=0, end=10)
        assert api.patch(scene_url(scene), {"end": 12.5}, format="json").status_code == 200
        scene.refresh_from_db()
        assert (scene.start, scene.end) == (0, 12.5)

    def test_put_replaces_a_scene(self, api, screening):
        scene = SceneFactory(screening=screening)
        response = api.put(scene_url(scene), {"start": 5, "end": 8, "label": "Twist"}, format="json")
        assert response.status_code == 200
        scene.refresh_from_db()
        assert (scene.start, scene.end, scene.label) == (5, 8, "Twist")

    def test_a_scene_is_deleted(self, api, screening):
        scene = SceneFactory(screening=screening)
        assert api.delete(scene_url(scene)).status_code == 204
        assert not Scene.objects.exists()


class TestSceneValues:
    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({"start": 5, "end": 5}, "end", "A scene must end after it starts."),
            ({"start": 5, "end": 2}, "end", "A scene must end after it starts."),
            ({"start": -1, "end": 5}, "start", "greater than or equal to 0"),
            ({"start": 0, "end": -1}, "end", "greater than or equal to 0"),
            ({"start": "soon", "end": 5}, "start", "A valid number is required."),
            ({"start": 0, "end": 5, "label": ""}, "label", "may not be blank"),
            ({"end": 5}, "start", "This field is required."),
        ],
    )
    def test_a_scene_with_bad_times_or_no_label_is_refused(self, api, screening, payload, field, message):
        response = api.post(scenes_url(screening), {"label": "Logo", **payload}, format="json")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])
        assert not Scene.objects.exists()

    def test_moving_the_end_before_the_stored_start_is_refused(self, api, screening):
        scene = SceneFactory(screening=screening, start=10, end=20)
        response = api.patch(scene_url(scene), {"end": 5}, format="json")
        assert response.status_code == 400
        assert response.json()["end"] == ["A scene must end after it starts."]
        scene.refresh_from_db()
        assert scene.end == 20


class TestAnotherOrganizer:
    def test_another_organizer_cannot_list_or_add_scenes(self, other_api, screening):
        SceneFactory(screening=screening)
        assert other_api.get(scenes_url(screening)).status_code == 404
        payload = {"start": 0, "end": 1, "label": "Mine"}
        assert other_api.post(scenes_url(screening), payload, format="json").status_code == 404
        assert screening.scenes.count() == 1

    def test_another_organizer_gets_404_not_field_messages_for_a_bad_scene(self, other_api, screening):
        payload = {"start": 5, "end": 1, "label": "x"}
        assert other_api.post(scenes_url(screening), payload, format="json").status_code == 404

    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_another_organizer_gets_404_for_one_scene(self, other_api, screening, method):
        scene = SceneFactory(screening=screening)
        payload = {"start": 1, "end": 2, "label": "Changed"}
        assert getattr(other_api, method)(scene_url(scene), payload, format="json").status_code == 404
        scene.refresh_from_db()
        assert scene.label == "Opening"
