"""Who may call the organizer API: active staff by token or session; each reaches only their own screenings."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from screenings.models import Screening
from tests.factories import (
    AnswerFactory,
    OrganizerFactory,
    ParticipantFactory,
    QuestionFactory,
    SceneFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_url(screening) -> list[tuple[str, str]]:
    """Each method and address under one screening, with an object of each kind to address."""
    participant = ParticipantFactory(screening=screening)
    question = QuestionFactory(screening=screening)
    scene = SceneFactory(screening=screening)
    answer = AnswerFactory(participant=participant, question=question)
    root = f"/api/screenings/{screening.pk}/"
    return [
        ("get", root), ("put", root), ("patch", root), ("delete", root),
        ("post", root + "open/"), ("post", root + "close/"),
        ("get", root + "questions/"), ("post", root + "questions/"),
        ("get", f"{root}questions/{question.pk}/"), ("put", f"{root}questions/{question.pk}/"),
        ("patch", f"{root}questions/{question.pk}/"), ("delete", f"{root}questions/{question.pk}/"),
        ("get", root + "scenes/"), ("post", root + "scenes/"),
        ("get", f"{root}scenes/{scene.pk}/"), ("put", f"{root}scenes/{scene.pk}/"),
        ("patch", f"{root}scenes/{scene.pk}/"), ("delete", f"{root}scenes/{scene.pk}/"),
        ("get", root + "participants/"), ("post", root + "participants/"),
        ("get", f"{root}participants/{participant.pk}/"), ("post", f"{root}participants/{participant.pk}/erase/"),
        ("get", root + "answers/"), ("get", f"{root}answers/{answer.pk}/"),
        ("get", root + "report/"), ("get", root + "report/samples-csv/"),
    ]  # fmt: skip


def call(client: APIClient, method: str, url: str) -> int:
    # A body that would be valid for most endpoints, so a refusal cannot come from validation instead.
    payload = {"count": 1, "text": "Changed?", "title": "Changed", "start": 0, "end": 1, "label": "Changed"}
    return getattr(client, method)(url, payload, format="json").status_code


def assert_nothing_changed(screening: Screening) -> None:
    screening.refresh_from_db()
    assert screening.status == Screening.Status.OPEN and screening.title.startswith("Trailer test")
    assert screening.participants.count() == 1 and screening.participants.get().erased_at is None
    assert screening.questions.get().text != "Changed?" and screening.scenes.get().label == "Opening"


class TestAnotherOrganizer:
    def test_another_organizer_gets_404_for_every_address_of_a_screening(self, other_organizer, every_url, screening):
        client = APIClient()
        client.force_authenticate(other_organizer)
        refused = {(method, url): call(client, method, url) for method, url in every_url}
        assert set(refused.values()) == {404}, refused
        assert_nothing_changed(screening)

    def test_another_organizer_calling_with_a_token_gets_404_too(self, other_organizer, every_url, screening):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other_organizer).key}")
        refused = {(method, url): call(client, method, url) for method, url in every_url}
        assert set(refused.values()) == {404}, refused
        assert_nothing_changed(screening)

    def test_an_address_of_a_screening_that_does_not_exist_is_404(self, organizer):
        client = APIClient()
        client.force_authenticate(organizer)
        for suffix in ["", "questions/", "scenes/", "participants/", "answers/"]:
            assert client.get(f"/api/screenings/999999/{suffix}").status_code == 404

    def test_a_collaborator_reaches_every_address_of_a_shared_screening(self, other_organizer, screening):
        screening.collaborators.add(other_organizer)
        client = APIClient()
        client.force_authenticate(other_organizer)
        root = f"/api/screenings/{screening.pk}/"
        for suffix in ["", "questions/", "scenes/", "participants/", "answers/"]:
            assert client.get(root + suffix).status_code == 200

    def test_a_superuser_reaches_any_screening(self, screening):
        client = APIClient()
        client.force_authenticate(OrganizerFactory(username="root", is_superuser=True))
        assert client.get(f"/api/screenings/{screening.pk}/participants/").status_code == 200
        response = client.post(f"/api/screenings/{screening.pk}/participants/", {"count": 2}, format="json")
        assert response.status_code == 201


class TestAuthentication:
    def test_anonymous_callers_are_asked_to_authenticate_everywhere(self, every_url, screening):
        client = APIClient()
        refused = {(method, url): call(client, method, url) for method, url in every_url}
        assert set(refused.values()) == {401}, refused
        assert client.get("/api/screenings/").status_code == 401
        assert_nothing_changed(screening)

    def test_a_user_who_is_not_staff_is_refused(self, screening):
        client = APIClient()
        client.force_authenticate(OrganizerFactory(username="plain", is_staff=False))
        assert client.get("/api/screenings/").status_code == 403
        assert client.get(f"/api/screenings/{screening.pk}/").status_code == 403

    def test_an_inactive_organizer_is_refused(self, organizer, screening):
        organizer.is_active = False
        organizer.save()
        client = APIClient()
        client.force_authenticate(organizer)
        assert client.get("/api/screenings/").status_code == 403

    def test_a_token_authenticates_an_organizer(self, organizer, screening):
        token = Token.objects.create(user=organizer)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        assert client.get(f"/api/screenings/{screening.pk}/").json()["id"] == screening.pk
        response = client.post(f"/api/screenings/{screening.pk}/participants/", {"count": 1}, format="json")
        assert response.status_code == 201

    def test_a_wrong_token_is_refused(self, screening):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        assert client.get("/api/screenings/").status_code == 401

    def test_the_token_of_a_user_who_is_not_staff_is_refused(self, db):
        token = Token.objects.create(user=OrganizerFactory(username="plain", is_staff=False))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        assert client.get("/api/screenings/").status_code == 403

    def test_a_logged_in_session_authenticates_an_organizer(self, organizer_client, screening):
        response = organizer_client.get("/api/screenings/")
        assert response.status_code == 200 and response.json()["count"] == 1

    def test_a_session_write_without_a_csrf_token_is_refused(self, organizer, screening):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(organizer)
        response = client.post(f"/api/screenings/{screening.pk}/close/")
        assert response.status_code == 403 and "CSRF" in response.json()["detail"]
        screening.refresh_from_db()
        assert screening.status == Screening.Status.OPEN

    def test_a_token_write_needs_no_csrf_token(self, organizer, screening):
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=organizer).key}")
        assert client.post(f"/api/screenings/{screening.pk}/close/").status_code == 200


def test_the_list_leaves_out_another_organizers_screenings_for_every_kind_of_caller(organizer, other_organizer):
    ScreeningFactory(owner=organizer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other_organizer).key}")
    assert client.get("/api/screenings/").json() == {"count": 0, "next": None, "previous": None, "results": []}
