"""The organizer's API token page: create (shown once), replace, revoke; only for organizers."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

URL = reverse("organizer-api-token")


def test_an_organizer_creates_a_token_that_the_api_accepts(organizer, organizer_client, screening):
    response = organizer_client.post(URL, {"action": "create"})
    key = response.context["new_token"]
    assert Token.objects.get(user=organizer).key == key and key in response.content.decode()
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get(f"/api/screenings/{screening.pk}/").status_code == 200


def test_the_page_never_shows_a_stored_token_again(organizer, organizer_client):
    key = organizer_client.post(URL, {"action": "create"}).context["new_token"]
    page = organizer_client.get(URL).content.decode()
    assert key not in page and "You have a token" in page


def test_a_new_token_ends_the_old_one(organizer, organizer_client, screening):
    old = organizer_client.post(URL, {"action": "create"}).context["new_token"]
    organizer_client.post(URL, {"action": "create"})
    assert Client(headers={"authorization": f"Token {old}"}).get("/api/screenings/").status_code == 401


def test_a_revoked_token_is_refused(organizer, organizer_client):
    key = organizer_client.post(URL, {"action": "create"}).context["new_token"]
    assert organizer_client.post(URL, {"action": "revoke"}).status_code == 302
    assert not Token.objects.filter(user=organizer).exists()
    assert Client(headers={"authorization": f"Token {key}"}).get("/api/screenings/").status_code == 401


def test_an_unknown_action_changes_nothing(organizer, organizer_client):
    assert organizer_client.post(URL, {"action": "steal"}).status_code == 302
    assert not Token.objects.filter(user=organizer).exists()


def test_one_organizer_cannot_revoke_another_organizers_token(organizer, other_organizer):
    Token.objects.create(user=organizer)
    other = Client()
    other.force_login(other_organizer)
    other.post(URL, {"action": "revoke"})
    assert Token.objects.filter(user=organizer).exists()


def test_someone_not_logged_in_is_sent_to_the_login(client):
    response = client.post(URL, {"action": "create"})
    assert response.status_code == 302 and "login" in response["Location"] and not Token.objects.exists()
