"""The organizers' login is limited per username and address, so passwords cannot be guessed quickly."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import OrganizerFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("admin:login")
PASSWORD = "a long and right password"


@pytest.fixture
def organizer_with_password(settings):  # type: ignore[no-untyped-def]
    settings.ADMIN_LOGIN_ATTEMPTS = 3
    user = OrganizerFactory(username="alice")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(password: str, *, username: str = "alice", address: str = "203.0.113.5", client: Client | None = None):  # type: ignore[no-untyped-def]
    client = client or Client()
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_a_few_wrong_passwords_get_the_usual_message_and_the_right_one_then_logs_in(organizer_with_password):
    for _ in range(2):
        wrong = log_in("guess")
        assert wrong.status_code == 200 and "Please enter the correct username and password" in wrong.text
    assert log_in(PASSWORD).status_code == 302


def test_past_the_limit_even_the_right_password_is_refused_with_429_and_a_message(organizer_with_password):
    for _ in range(3):
        assert log_in("guess").status_code == 200
    refused = log_in(PASSWORD)
    assert refused.status_code == 429
    assert "Too many login attempts for this username from your address" in refused.text
    assert "_auth_user_id" not in refused.wsgi_request.session


def test_another_address_or_another_username_is_not_held_up(organizer_with_password):
    OrganizerFactory(username="mallory")
    for _ in range(4):
        log_in("guess")
    assert log_in(PASSWORD).status_code == 429
    assert log_in(PASSWORD, address="198.51.100.7").status_code == 302
    assert log_in("guess", username="mallory").status_code == 200


def test_the_username_counts_whatever_its_case(organizer_with_password):
    for username in ("alice", "ALICE", "Alice"):
        log_in("guess", username=username)
    assert log_in(PASSWORD).status_code == 429


def test_the_attempts_count_again_in_the_next_window(organizer_with_password, settings, monkeypatch):
    settings.ADMIN_LOGIN_WINDOW_SECONDS = 60
    clock = [1_000_020.0]
    monkeypatch.setattr("screenings.web.throttle.time.time", lambda: clock[0])
    for _ in range(4):
        log_in("guess")
    assert log_in(PASSWORD).status_code == 429
    clock[0] += 60
    assert log_in(PASSWORD).status_code == 302


def test_the_login_page_itself_is_still_the_admins(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200 and 'name="password"' in response.text
