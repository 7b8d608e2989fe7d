"""The API's request rates: each organizer's own, and a stricter one for creating invites."""

import pytest

from tests.factories import ScreeningFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):  # type: ignore[no-untyped-def]
    """Small rates, so that a test can spend them."""

    def set_rates(*, organizer: str = "1000/minute", invites: str = "1000/minute") -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"organizer": organizer, "invites": invites},
        }

    return set_rates


def invite(api, screening, count: int = 1):  # type: ignore[no-untyped-def]
    return api.post(f"/api/screenings/{screening.pk}/participants/", {"count": count}, format="json")


def test_an_organizer_past_the_rate_gets_429_with_when_to_retry(api, rates, screening):
    rates(organizer="5/minute")
    assert [api.get("/api/screenings/").status_code for _ in range(5)] == [200] * 5
    refused = api.get(f"/api/screenings/{screening.pk}/")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert int(refused["Retry-After"]) > 0


def test_another_organizer_keeps_their_own_rate(api, other_api, rates, other_organizer):
    rates(organizer="3/minute")
    for _ in range(4):
        api.get("/api/screenings/")
    assert api.get("/api/screenings/").status_code == 429
    assert other_api.get("/api/screenings/").status_code == 200


def test_creating_invites_has_a_stricter_rate_than_reading(api, rates, screening):
    rates(organizer="100/minute", invites="2/minute")
    assert [invite(api, screening).status_code for _ in range(2)] == [201, 201]
    assert invite(api, screening).status_code == 429
    # Reading the participants is not held up by the invites' rate.
    assert api.get(f"/api/screenings/{screening.pk}/participants/").json()["count"] == 2


def test_the_invite_rate_is_each_organizers_own_and_another_screening_is_still_404(
    api, other_api, rates, screening, other_organizer
):
    rates(invites="1/minute")
    assert invite(api, screening).status_code == 201
    assert invite(api, screening).status_code == 429
    assert invite(other_api, ScreeningFactory(owner=other_organizer)).status_code == 201
    assert other_api.get(f"/api/screenings/{screening.pk}/participants/").status_code == 404


def test_a_request_for_more_invites_than_allowed_is_refused_before_any_is_made(api, screening):
    response = invite(api, screening, count=1001)
    assert response.status_code == 400
    assert "1000" in " ".join(response.json()["count"])
    assert not screening.participants.exists()


def test_the_default_rates_come_from_the_settings(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates == {"organizer": "600/minute", "invites": "30/hour"}
