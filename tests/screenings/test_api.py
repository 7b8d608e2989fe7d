"""The organizer REST API: each organizer reaches only their own screenings; another gets 404 for everything."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from screenings.models import Participant, Question, Screening
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    MarkerFactory,
    OrganizerFactory,
    ParticipantFactory,
    QuestionFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(organizer) -> APIClient:
    client = APIClient()
    client.force_authenticate(organizer)
    return client


@pytest.fixture
def other_api(other_organizer) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_organizer)
    return client


def base(screening) -> str:
    return f"/api/screenings/{screening.pk}/"


class TestScreenings:
    def test_the_list_holds_own_and_shared_screenings_only(self, api, organizer):
        own = ScreeningFactory(owner=organizer)
        shared = ScreeningFactory()
        shared.collaborators.add(organizer)
        ScreeningFactory()
        ids = {row["id"] for row in api.get("/api/screenings/").json()["results"]}
        assert ids == {own.pk, shared.pk}

    def test_creating_a_screening_makes_the_caller_its_owner(self, api, organizer):
        response = api.post(
            "/api/screenings/",
            {"title": "Ad", "slug": "ad", "consent_text": "ok", "stimulus_url": "https://cdn.example.org/ad.mp4",
             "sampling_interval": "2"},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["owner"] == organizer.username and body["status"] == "draft"
        assert body["open_link"] == "http://testserver/s/ad/join/"
        assert Screening.objects.get(slug="ad").owner == organizer

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"sampling_interval": "0.1"}, "sampling_interval"),
            ({"sampling_interval": "often"}, "sampling_interval"),
            ({"slug": "taken"}, "slug"),
            ({"slug": "has spaces"}, "slug"),
            ({"title": ""}, "title"),
            ({"stimulus_url": "not a url"}, "stimulus_url"),
            ({"participant_quota": -1}, "participant_quota"),
        ],
    )
    def test_bad_values_are_refused_with_field_messages(self, api, payload, field):
        ScreeningFactory(slug="taken")
        data = {"title": "Ad", "slug": "fresh", "consent_text": "ok", "sampling_interval": "1"} | payload
        response = api.post("/api/screenings/", data, format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_a_file_and_a_url_together_are_refused(self, api, screening):
        response = api.patch(base(screening), {"stimulus_url": "https://cdn.example.org/x.mp4"}, format="json")
        assert response.status_code == 400 and "not both" in str(response.json())

    def test_status_changes_only_through_open_and_close(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        api.patch(base(screening), {"status": "open"}, format="json")
        screening.refresh_from_db()
        assert screening.status == Screening.Status.DRAFT
        assert api.post(base(screening) + "open/").json()["status"] == "open"
        assert api.post(base(screening) + "close/").json()["status"] == "closed"

    def test_opening_without_a_stimulus_says_why(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT, stimulus="")
        response = api.post(base(screening) + "open/")
        assert response.status_code == 400 and "stimulus" in response.json()["detail"]

    def test_only_an_empty_draft_can_be_deleted(self, api, organizer):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        running = ScreeningFactory(owner=organizer)
        ParticipantFactory(screening=running)
        assert api.delete(base(running)).status_code == 409
        assert api.delete(base(draft)).status_code == 204
        assert Screening.objects.filter(pk=running.pk).exists()


class TestQuestionsAndMarkers:
    def test_questions_are_created_and_listed(self, api, screening):
        response = api.post(
            base(screening) + "questions/",
            {"phase": "both", "kind": "single", "text": "Watch it?", "choices": ["Yes", "No"]},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert [q["text"] for q in api.get(base(screening) + "questions/").json()["results"]] == ["Watch it?"]

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"kind": "single", "choices": ["Only"]}, "choices"),
            ({"kind": "multiple", "choices": ["A", "A"]}, "choices"),
            ({"kind": "text", "choices": ["A", "B"]}, "choices"),
            ({"kind": "number", "min_value": 10, "max_value": 1}, "max_value"),
            ({"kind": "likert5", "min_value": 1}, "min_value"),
            ({"kind": "essay"}, "kind"),
            ({"phase": "during"}, "phase"),
        ],
    )
    def test_question_definitions_that_cannot_be_answered_are_refused(self, api, screening, payload, field):
        response = api.post(base(screening) + "questions/", {"text": "?", **payload}, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Question.objects.exists()

    def test_markers_must_end_after_they_start(self, api, screening):
        assert api.post(base(screening) + "markers/", {"start": 5, "end": 5, "label": "x"}).status_code == 400
        assert api.post(base(screening) + "markers/", {"start": -1, "end": 5, "label": "x"}).status_code == 400
        assert api.post(base(screening) + "markers/", {"start": 0, "end": 5, "label": "Logo"}).status_code == 201


class TestParticipantsAndAnswers:
    def test_invites_are_created_with_personal_links(self, api, screening):
        response = api.post(base(screening) + "participants/", {"count": 3, "label": "wave 2"}, format="json")
        assert response.status_code == 201
        rows = response.json()
        assert len(rows) == 3 and all(row["link"] == f"http://testserver/p/{row['token']}/" for row in rows)
        assert Participant.objects.filter(screening=screening, label="wave 2").count() == 3

    @pytest.mark.parametrize("count", [0, 10_001, "ten", None])
    def test_invite_counts_out_of_range_are_refused(self, api, screening, count):
        response = api.post(base(screening) + "participants/", {"count": count}, format="json")
        assert response.status_code == 400 and "count" in response.json()
        assert not Participant.objects.exists()

    def test_erasing_a_participant_through_the_api(self, api, screening):
        participant = ParticipantFactory(screening=screening, external_id="p-1")
        AnswerFactory(participant=participant)
        EmotionSampleFactory(participant=participant)
        response = api.post(base(screening) + f"participants/{participant.pk}/erase/")
        assert response.status_code == 200 and response.json()["erased_at"]
        assert not participant.answers.exists() and not participant.samples.exists()

    def test_answers_can_be_filtered_by_phase_and_participant(self, api, screening):
        first, second = ParticipantFactory(screening=screening), ParticipantFactory(screening=screening)
        AnswerFactory(participant=first, phase="before")
        AnswerFactory(participant=first, phase="after")
        AnswerFactory(participant=second, phase="after")
        url = base(screening) + "answers/"
        assert api.get(url).json()["count"] == 3
        assert api.get(url, {"phase": "after"}).json()["count"] == 2
        assert api.get(url, {"participant": first.pk}).json()["count"] == 2
        assert api.get(url, {"phase": "during"}).status_code == 400
        assert api.get(url, {"participant": "x"}).status_code == 400

    @pytest.mark.parametrize("resource", ["answers", "participants"])
    def test_lists_take_the_same_number_of_queries_however_many_rows(self, api, screening, resource):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert api.get(base(screening) + f"{resource}/").status_code == 200
            return len(captured)

        AnswerFactory(participant=ParticipantFactory(screening=screening))
        few = queries()
        for _ in range(10):
            AnswerFactory(participant=ParticipantFactory(screening=screening))
        assert queries() == few


class TestAccess:
    @pytest.fixture
    def urls(self, screening):
        participant = ParticipantFactory(screening=screening)
        question = QuestionFactory(screening=screening)
        marker = MarkerFactory(screening=screening)
        answer = AnswerFactory(participant=participant)
        root = base(screening)
        return [
            ("get", root), ("patch", root), ("delete", root), ("post", root + "open/"), ("post", root + "close/"),
            ("get", root + "questions/"), ("post", root + "questions/"), ("get", f"{root}questions/{question.pk}/"),
            ("delete", f"{root}questions/{question.pk}/"), ("get", root + "markers/"),
            ("patch", f"{root}markers/{marker.pk}/"), ("get", root + "participants/"), ("post", root + "participants/"),
            ("get", f"{root}participants/{participant.pk}/"), ("post", f"{root}participants/{participant.pk}/erase/"),
            ("get", root + "answers/"), ("get", f"{root}answers/{answer.pk}/"),
        ]  # fmt: skip

    def test_another_organizer_gets_404_for_everything(self, other_api, urls, screening):
        for method, url in urls:
            response = getattr(other_api, method)(url, {"count": 1, "text": "x"}, format="json")
            assert response.status_code == 404, (method, url, response.status_code)
        assert other_api.get("/api/screenings/").json()["count"] == 0
        screening.refresh_from_db()
        assert screening.status == Screening.Status.OPEN and screening.participants.count() == 1

    def test_anonymous_callers_are_refused(self, urls):
        client = APIClient()
        for method, url in urls[:3]:
            assert getattr(client, method)(url).status_code in (401, 403)

    def test_a_user_who_is_not_staff_is_refused(self, screening):
        client = APIClient()
        client.force_authenticate(OrganizerFactory(username="plain", is_staff=False))
        assert client.get("/api/screenings/").status_code == 403

    def test_a_token_authenticates(self, organizer, screening):
        token = Token.objects.create(user=organizer)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        assert client.get(base(screening)).json()["id"] == screening.pk
        client.credentials(HTTP_AUTHORIZATION="Token wrong")
        assert client.get(base(screening)).status_code == 401


def test_the_schema_and_the_docs_are_served(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/screenings/{screening_pk}/participants/" in text and "/api/screenings/{id}/open/" in text
    assert client.get("/api/docs/").status_code == 200
