"""Every page is sent with a Content-Security-Policy: only the site's own scripts, media also from a CDN."""

import pytest
from django.urls import reverse

from tests.factories import ParticipantFactory
from tests.screenings.policy_helpers import directives

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant_page(client, screening):  # type: ignore[no-untyped-def]
    participant = ParticipantFactory(screening=screening)
    return client.get(reverse("participant-consent", args=[participant.token]))


def test_a_participant_page_runs_only_the_sites_own_scripts(participant_page):
    policy = directives(participant_page)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


def test_media_may_come_from_a_stimulus_address_and_capture_talks_over_websockets(participant_page):
    policy = directives(participant_page)
    assert policy["media-src"] == ["'self'", "blob:", "https:"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["connect-src"] == ["'self'", "ws:", "wss:"]


def test_the_admin_and_the_organizer_pages_have_the_same_policy(organizer_client, screening, participant_page):
    for url in (reverse("admin:index"), reverse("organizer-live", args=[screening.pk])):
        response = organizer_client.get(url)
        assert response.status_code == 200
        assert directives(response) == directives(participant_page)


def test_the_api_docs_relax_only_styles_and_only_for_an_organizer(organizer_client, other_organizer_client):
    docs = directives(organizer_client.get("/api/docs/"))
    assert docs["style-src"] == ["'self'", "'unsafe-inline'"]
    assert docs["script-src"] == ["'self'"]
    # Another organizer sees the docs too (they describe no one's data); the anonymous are sent to log in.
    assert other_organizer_client.get("/api/docs/").status_code == 200


def test_no_page_or_template_of_the_site_has_an_inline_script():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and " onclick=" not in text and " onload=" not in text, template
