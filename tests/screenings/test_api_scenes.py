"""The scene markers of a screening through the organizer API."""

import pytest

from screenings.models import Marker, Screening
from tests.factories import MarkerFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def markers_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/markers/"


def marker_url(marker: Marker) -> str:
    return f"{markers_url(marker.screening)}{marker.pk}/"


class TestMarkerCrud:
    def test_a_scene_is_created(self, api, screening):
        response = api.post(markers_url(screening), {"start": 0, "end": 4.5, "label": "Logo"}, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["start"], body["end"], body["label"]) == (0.0, 4.5, "Logo")
        assert Marker.objects.get().screening == screening

    def test_the_list_holds_this_screenings_scenes_by_start(self, api, screening):
        MarkerFactory(screening=screening, start=10, end=20, label="Chase")
        MarkerFactory(screening=screening, start=0, end=10, label="Opening")
        MarkerFactory(screening=ScreeningFactory(owner=screening.owner), label="Elsewhere")
        rows = api.get(markers_url(screening)).json()["results"]
        assert [row["label"] for row in rows] == ["Opening", "Chase"]

    def test_one_scene_is_read(self, api, screening):
        marker = MarkerFactory(screening=screening)
        assert api.get(marker_url(marker)).json()["label"] == "Opening"

    def test_patch_moves_a_scene(self, api, screening):
        marker = MarkerFactory(screening=screening, start=0, end=10)
        assert api.patch(marker_url(marker), {"end": 12.5}, format="json").status_code == 200
        marker.refresh_from_db()
        assert (marker.start, marker.end) == (0, 12.5)

    def test_put_replaces_a_scene(self, api, screening):
        marker = MarkerFactory(screening=screening)
        response = api.put(marker_url(marker), {"start": 5, "end": 8, "label": "Twist"}, format="json")
        assert response.status_code == 200
        marker.refresh_from_db()
        assert (marker.start, marker.end, marker.label) == (5, 8, "Twist")

    def test_a_scene_is_deleted(self, api, screening):
        marker = MarkerFactory(screening=screening)
        assert api.delete(marker_url(marker)).status_code == 204
        assert not Marker.objects.exists()


class TestMarkerValues:
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
        response = api.post(markers_url(screening), {"label": "Logo", **payload}, format="json")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])
        assert not Marker.objects.exists()

    def test_moving_the_end_before_the_stored_start_is_refused(self, api, screening):
        marker = MarkerFactory(screening=screening, start=10, end=20)
        response = api.patch(marker_url(marker), {"end": 5}, format="json")
        assert response.status_code == 400
        assert response.json()["end"] == ["A scene must end after it starts."]
        marker.refresh_from_db()
        assert marker.end == 20


class TestAnotherOrganizer:
    def test_another_organizer_cannot_list_or_add_scenes(self, other_api, screening):
        MarkerFactory(screening=screening)
        assert other_api.get(markers_url(screening)).status_code == 404
        payload = {"start": 0, "end": 1, "label": "Mine"}
        assert other_api.post(markers_url(screening), payload, format="json").status_code == 404
        assert screening.markers.count() == 1

    def test_another_organizer_gets_404_not_field_messages_for_a_bad_scene(self, other_api, screening):
        payload = {"start": 5, "end": 1, "label": "x"}
        assert other_api.post(markers_url(screening), payload, format="json").status_code == 404

    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_another_organizer_gets_404_for_one_scene(self, other_api, screening, method):
        marker = MarkerFactory(screening=screening)
        payload = {"start": 1, "end": 2, "label": "Changed"}
        assert getattr(other_api, method)(marker_url(marker), payload, format="json").status_code == 404
        marker.refresh_from_db()
        assert marker.label == "Opening"
