"""A screening's segments through the organizer API, and its report restricted to one."""

import pytest

from screenings import services
from screenings.models import Screening, Segment
from tests.factories import ScreeningFactory
from tests.screenings.report_fixtures import three_viewer_trailer

pytestmark = pytest.mark.django_db


def segments_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/segments/"


def segment_url(segment: Segment) -> str:
    return f"{segments_url(segment.screening)}{segment.pk}/"


@pytest.fixture
def again(trailer):
    return trailer.questions.get(text="Would you watch it?")


@pytest.fixture
def keen(trailer, again):
    return services.segment_create(screening=trailer, name="Keen", rules=[{"question": again.pk, "in": ["Yes"]}])


class TestSegmentCrud:
    def test_a_segment_is_created_with_its_rules_normalised_and_its_size(self, api, trailer, again):
        films = trailer.questions.get(text="Films a month?")
        rules = [{"question": again.pk, "in": ["Yes"]}, {"question": films.pk, "min": 10}]
        response = api.post(segments_url(trailer), {"name": "Keen film-goers", "rules": rules}, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["rules"] == [{"question": again.pk, "phase": "after", "in": ["Yes"]},
                                 {"question": films.pk, "phase": "before", "min": 10}]  # fmt: skip
        assert body["participants"] == 2
        assert body["described"] == ["“Would you watch it?” (after) is Yes", "“Films a month?” (before) at least 10"]
        assert Segment.objects.get().screening == trailer

    def test_the_list_holds_this_screenings_segments_by_name(self, api, trailer, keen, organizer):
        services.segment_create(screening=trailer, name="All", rules=[])
        services.segment_create(screening=ScreeningFactory(owner=organizer), name="Elsewhere", rules=[])
        rows = api.get(segments_url(trailer)).json()["results"]
        assert [(row["name"], row["participants"]) for row in rows] == [("All", 3), ("Keen", 2)]

    def test_one_segment_is_read(self, api, keen):
        assert api.get(segment_url(keen)).json()["name"] == "Keen"

    def test_patch_changes_the_rules(self, api, keen):
        response = api.patch(segment_url(keen), {"rules": [{"panel_id": ["P2"]}]}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["participants"] == 1
        keen.refresh_from_db()
        assert (keen.name, keen.rules) == ("Keen", [{"panel_id": ["P2"]}])

    def test_put_is_not_offered(self, api, keen):
        assert api.put(segment_url(keen), {"name": "X", "rules": []}, format="json").status_code == 405

    def test_a_segment_is_deleted(self, api, keen, trailer):
        assert api.delete(segment_url(keen)).status_code == 204
        assert not Segment.objects.exists() and trailer.participants.count() == 3


class TestSegmentValues:
    def test_bad_rules_get_400_with_a_message_per_rule_and_nothing_is_stored(self, api, trailer, again):
        rules = [{"question": again.pk, "in": ["Weekly"]}, {"question": 999_999, "min": 1}]
        response = api.post(segments_url(trailer), {"name": "Odd", "rules": rules}, format="json")
        assert response.status_code == 400
        assert response.json() == {"rules": [
            f"Rule 1: 'Weekly' is not a choice of question {again.pk} (its choices: 'Yes', 'Maybe', 'No').",
            "Rule 2: question 999999 is not one of this screening's questions.",
        ]}  # fmt: skip
        assert not Segment.objects.exists()

    def test_a_question_of_another_screening_is_refused(self, api, trailer, organizer):
        other = three_viewer_trailer(ScreeningFactory(owner=organizer))
        question = other.questions.get(text="Would you watch it?")
        response = api.post(segments_url(trailer), {"name": "X", "rules": [{"question": question.pk, "in": ["Yes"]}]},
                            format="json")  # fmt: skip
        assert response.status_code == 400
        assert response.json()["rules"] == [f"Rule 1: question {question.pk} is not one of this screening's questions."]

    def test_a_minimum_above_the_maximum_is_refused(self, api, trailer):
        interest = trailer.questions.get(text="How interested are you?")
        response = api.post(segments_url(trailer), {"name": "X", "rules": [{"question": interest.pk, "min": 9,
                                                                             "max": 1}]}, format="json")  # fmt: skip
        assert response.json() == {"rules": ["Rule 1: min (9) is above max (1)."]}

    def test_a_taken_name_is_refused(self, api, trailer, keen):
        response = api.post(segments_url(trailer), {"name": "Keen", "rules": []}, format="json")
        assert response.status_code == 400
        assert response.json() == {"name": ["This screening already has a segment named “Keen”."]}

    def test_a_refused_patch_changes_nothing(self, api, keen):
        response = api.patch(segment_url(keen), {"name": "Renamed", "rules": "all"}, format="json")
        assert response.status_code == 400 and "rules" in response.json()
        keen.refresh_from_db()
        assert keen.name == "Keen"

    def test_a_name_is_required(self, api, trailer):
        assert api.post(segments_url(trailer), {"rules": []}, format="json").status_code == 400


class TestSegmentReport:
    def test_the_report_is_restricted_to_the_segment(self, api, trailer, keen):
        everyone = api.get(f"/api/screenings/{trailer.pk}/report/").json()
        restricted = api.get(f"/api/screenings/{trailer.pk}/report/", {"segment": keen.pk}).json()
        assert everyone["segment"] is None
        assert restricted["segment"]["name"] == "Keen" and restricted["segment"]["participants"] == 2
        assert (everyone["funnel"]["invited"], restricted["funnel"]["invited"]) == (3, 2)
        assert len(restricted["quality"]["participants"]) == 2
        assert restricted["timeline"]["bins"][0]["participants"] == 2
        assert restricted["timeline"]["bins"][0]["happy"] != everyone["timeline"]["bins"][0]["happy"]

    def test_a_segment_of_another_screening_is_refused(self, api, trailer, organizer):
        other = services.segment_create(screening=ScreeningFactory(owner=organizer), name="Other", rules=[])
        response = api.get(f"/api/screenings/{trailer.pk}/report/", {"segment": other.pk})
        assert response.status_code == 400
        assert response.json() == {"segment": [f"This screening has no segment {other.pk}."]}

    def test_a_download_through_the_api_takes_the_segment(self, api, trailer, keen):
        response = api.get(f"/api/screenings/{trailer.pk}/report/participants-csv/", {"segment": keen.pk})
        assert response.status_code == 200
        assert len(response.content.decode().strip().splitlines()) == 1 + 2

    @pytest.mark.parametrize("value", ["x", "0", str(2**70)])
    def test_a_malformed_segment_is_refused(self, api, trailer, value):
        assert api.get(f"/api/screenings/{trailer.pk}/report/", {"segment": value}).status_code == 400


class TestAnotherOrganizer:
    def test_every_segment_endpoint_is_404_to_another_organizer(self, other_api, trailer, keen):
        assert other_api.get(segments_url(trailer)).status_code == 404
        assert other_api.post(segments_url(trailer), {"name": "Mine", "rules": []}, format="json").status_code == 404
        assert other_api.get(segment_url(keen)).status_code == 404
        assert other_api.patch(segment_url(keen), {"name": "Mine"}, format="json").status_code == 404
        assert other_api.delete(segment_url(keen)).status_code == 404
        assert Segment.objects.get().name == "Keen" and Segment.objects.count() == 1

    def test_another_organizers_report_of_a_segment_is_404(self, other_api, trailer, keen):
        assert other_api.get(f"/api/screenings/{trailer.pk}/report/", {"segment": keen.pk}).status_code == 404
        download = f"/api/screenings/{trailer.pk}/report/samples-csv/"
        assert other_api.get(download, {"segment": keen.pk}).status_code == 404

    def test_another_organizers_segment_is_refused_in_ones_own_screening(self, api, other_api, other_organizer, keen):
        own = ScreeningFactory(owner=other_organizer)
        assert other_api.get(f"/api/screenings/{own.pk}/report/", {"segment": keen.pk}).status_code == 400
        assert other_api.get(f"/api/screenings/{own.pk}/segments/{keen.pk}/").status_code == 404

    def test_a_segment_is_404_under_another_screening_of_the_same_organizer(self, api, keen, organizer):
        elsewhere = ScreeningFactory(owner=organizer)
        assert api.get(f"/api/screenings/{elsewhere.pk}/segments/{keen.pk}/").status_code == 404
        assert api.delete(f"/api/screenings/{elsewhere.pk}/segments/{keen.pk}/").status_code == 404
        assert Segment.objects.filter(pk=keen.pk).exists()
