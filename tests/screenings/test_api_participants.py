"""The participants of a screening through the organizer API: the list, personal invites and erasure."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from screenings.models import Participant, Screening
from tests.factories import AnswerFactory, EmotionSampleFactory, ParticipantFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def participants_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/participants/"


def participant_url(participant: Participant) -> str:
    return f"{participants_url(participant.screening)}{participant.pk}/"


class TestParticipantList:
    def test_each_row_has_the_personal_link_and_the_journey_so_far(self, api, screening):
        participant = ParticipantFactory(
            screening=screening, external_id="panel-7", source="open_link", state=Participant.State.WATCHING
        )
        EmotionSampleFactory(participant=participant)
        row = api.get(participants_url(screening)).json()["results"][0]
        assert row["id"] == participant.pk and row["token"] == participant.token
        assert row["link"] == f"http://testserver/p/{participant.token}/"
        assert (row["external_id"], row["source"], row["state"], row["sample_count"]) == (
            "panel-7",
            "open_link",
            "watching",
            1,
        )
        assert {"created_at", "consented_at", "completed_at", "withdrawn_at", "erased_at"} <= set(row)

    def test_links_use_the_public_base_url_when_set(self, api, screening, settings):
        settings.PUBLIC_BASE_URL = "https://study.example.org"
        participant = ParticipantFactory(screening=screening)
        row = api.get(participants_url(screening)).json()["results"][0]
        assert row["link"] == f"https://study.example.org/p/{participant.token}/"

    def test_the_list_holds_only_this_screenings_participants(self, api, screening):
        ParticipantFactory(screening=screening, label="here")
        ParticipantFactory(screening=ScreeningFactory(owner=screening.owner), label="elsewhere")
        assert [row["label"] for row in api.get(participants_url(screening)).json()["results"]] == ["here"]

    def test_the_list_takes_the_same_number_of_queries_however_many_participants(self, api, screening):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert api.get(participants_url(screening)).status_code == 200
            return len(captured)

        EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        few = queries()
        for _ in range(10):
            EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        assert queries() == few

    def test_one_participant_is_read(self, api, screening):
        participant = ParticipantFactory(screening=screening, label="Ann")
        body = api.get(participant_url(participant)).json()
        assert (body["id"], body["label"], body["sample_count"]) == (participant.pk, "Ann", 0)

    def test_a_participant_addressed_under_another_of_ones_screenings_is_404(self, api, screening):
        participant = ParticipantFactory(screening=ScreeningFactory(owner=screening.owner))
        assert api.get(f"{participants_url(screening)}{participant.pk}/").status_code == 404

    def test_participants_cannot_be_changed_or_deleted_through_the_api(self, api, screening):
        participant = ParticipantFactory(screening=screening)
        assert api.patch(participant_url(participant), {"label": "x"}, format="json").status_code == 405
        assert api.delete(participant_url(participant)).status_code == 405


class TestInvites:
    def test_invites_are_created_with_personal_links(self, api, screening):
        response = api.post(participants_url(screening), {"count": 3, "label": "wave 2"}, format="json")
        assert response.status_code == 201, response.json()
        rows = response.json()
        assert len(rows) == 3
        assert all(row["link"] == f"http://testserver/p/{row['token']}/" for row in rows)
        assert all((row["source"], row["state"]) == ("invite", "invited") for row in rows)
        assert [row["label"] for row in rows] == ["wave 2-01", "wave 2-02", "wave 2-03"]
        assert Participant.objects.filter(screening=screening, label__startswith="wave 2-").count() == 3

    def test_every_invite_gets_its_own_unguessable_token(self, api, screening):
        rows = api.post(participants_url(screening), {"count": 20}, format="json").json()
        tokens = {row["token"] for row in rows}
        assert len(tokens) == 20 and all(len(token) >= 40 for token in tokens)

    def test_the_label_is_optional(self, api, screening):
        response = api.post(participants_url(screening), {"count": 1}, format="json")
        assert response.status_code == 201 and response.json()[0]["label"] == ""

    def test_the_largest_batch_is_accepted(self, api, screening):
        response = api.post(participants_url(screening), {"count": 1_000}, format="json")
        assert response.status_code == 201
        assert screening.participants.count() == 1_000

    @pytest.mark.parametrize(
        ("count", "message"),
        [
            (0, "greater than or equal to 1"),
            (-3, "greater than or equal to 1"),
            (1_001, "less than or equal to 1000"),
            ("ten", "A valid integer is required."),
            (2.5, "A valid integer is required."),
            (None, "This field may not be null."),
        ],
    )
    def test_invite_counts_out_of_range_are_refused(self, api, screening, count, message):
        response = api.post(participants_url(screening), {"count": count}, format="json")
        assert response.status_code == 400
        assert message in response.json()["count"][0]
        assert not Participant.objects.exists()

    def test_an_invite_request_without_a_count_is_refused(self, api, screening):
        response = api.post(participants_url(screening), {"label": "wave 3"}, format="json")
        assert response.status_code == 400
        assert response.json()["count"] == ["This field is required."]

    def test_a_label_longer_than_the_field_is_refused(self, api, screening):
        response = api.post(participants_url(screening), {"count": 1, "label": "x" * 201}, format="json")
        assert response.status_code == 400 and "label" in response.json()


class TestErasure:
    def test_erasing_a_participant_deletes_their_data_and_keeps_the_row(self, api, screening):
        participant = ParticipantFactory(screening=screening, external_id="p-1", label="Ann")
        AnswerFactory(participant=participant)
        EmotionSampleFactory(participant=participant)
        response = api.post(participant_url(participant) + "erase/")
        assert response.status_code == 200
        body = response.json()
        assert body["erased_at"] and (body["external_id"], body["label"], body["sample_count"]) == ("", "", 0)
        assert not participant.answers.exists() and not participant.samples.exists()
        assert Participant.objects.filter(pk=participant.pk).exists()

    def test_erasure_accepts_only_post(self, api, screening):
        participant = ParticipantFactory(screening=screening)
        assert api.get(participant_url(participant) + "erase/").status_code == 405


class TestAnotherOrganizer:
    def test_another_organizer_cannot_list_or_invite(self, other_api, screening):
        ParticipantFactory(screening=screening)
        assert other_api.get(participants_url(screening)).status_code == 404
        assert other_api.post(participants_url(screening), {"count": 5}, format="json").status_code == 404
        assert screening.participants.count() == 1

    def test_another_organizer_gets_404_not_field_messages_for_a_bad_count(self, other_api, screening):
        assert other_api.post(participants_url(screening), {"count": 0}, format="json").status_code == 404

    def test_another_organizer_can_neither_read_nor_erase_a_participant(self, other_api, screening):
        participant = ParticipantFactory(screening=screening, external_id="p-1")
        AnswerFactory(participant=participant)
        assert other_api.get(participant_url(participant)).status_code == 404
        assert other_api.post(participant_url(participant) + "erase/").status_code == 404
        participant.refresh_from_db()
        assert participant.erased_at is None and participant.answers.count() == 1
