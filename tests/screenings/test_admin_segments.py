"""Segments edited in the screening's admin page, through the services the API uses."""

import pytest

from screenings import services
from screenings.models import Segment
from tests.screenings.admin_helpers import admin_url, screening_form

pytestmark = pytest.mark.django_db


def with_segments(screening, rows: list[dict[str, str]], initial: int = 0) -> dict[str, str]:
    """The screening's change form with ``rows`` of the segments inline."""
    data = screening_form(title=screening.title, slug=screening.slug, **{
        "segments-TOTAL_FORMS": str(len(rows)), "segments-INITIAL_FORMS": str(initial),
    })  # fmt: skip
    for index, row in enumerate(rows):
        data.update({f"segments-{index}-{name}": value for name, value in row.items()})
    return data


def test_the_change_page_lists_the_questions_ids_for_the_rules(organizer_client, trailer):
    page = organizer_client.get(admin_url(trailer)).content.decode()
    again = trailer.questions.get(text="Would you watch it?")
    assert 'id="segments-group"' in page and f"{again.pk}: “Would you watch it?” (Single choice, after)" in page


def test_a_segment_is_created_with_its_rules_normalised(organizer_client, trailer):
    again = trailer.questions.get(text="Would you watch it?")
    rules = f'[{{"question": {again.pk}, "in": ["Yes"]}}]'
    response = organizer_client.post(admin_url(trailer), with_segments(trailer, [{"name": "Keen", "rules": rules}]))
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert (segment.name, segment.rules) == ("Keen", [{"question": again.pk, "phase": "after", "in": ["Yes"]}])


def test_bad_rules_are_shown_beside_the_field_and_nothing_is_stored(organizer_client, trailer):
    again = trailer.questions.get(text="Would you watch it?")
    rules = f'[{{"question": {again.pk}, "in": ["Weekly"]}}]'
    response = organizer_client.post(admin_url(trailer), with_segments(trailer, [{"name": "Keen", "rules": rules}]))
    assert response.status_code == 200
    assert "Rule 1: &#x27;Weekly&#x27; is not a choice of question" in response.content.decode()
    assert not Segment.objects.exists()


def test_json_that_does_not_parse_is_refused(organizer_client, trailer):
    response = organizer_client.post(admin_url(trailer), with_segments(trailer, [{"name": "Keen", "rules": "[{"}]))
    assert response.status_code == 200 and not Segment.objects.exists()


def test_a_segment_is_changed_and_deleted(organizer_client, trailer):
    segment = services.segment_create(screening=trailer, name="Keen", rules=[])
    row = {"id": str(segment.pk), "screening": str(trailer.pk), "name": "P2 only", "rules": '[{"panel_id": ["P2"]}]'}
    assert organizer_client.post(admin_url(trailer), with_segments(trailer, [row], initial=1)).status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.rules) == ("P2 only", [{"panel_id": ["P2"]}])
    deleted = with_segments(trailer, [{**row, "DELETE": "on"}], initial=1)
    assert organizer_client.post(admin_url(trailer), deleted).status_code == 302
    assert not Segment.objects.exists()


def test_two_new_segments_may_not_share_a_name(organizer_client, trailer):
    rows = [{"name": "Keen", "rules": "[]"}, {"name": "Keen", "rules": "[]"}]
    assert organizer_client.post(admin_url(trailer), with_segments(trailer, rows)).status_code == 200
    assert not Segment.objects.exists()


def test_another_organizer_cannot_reach_the_segments(other_organizer_client, trailer):
    segment = services.segment_create(screening=trailer, name="Keen", rules=[])
    assert other_organizer_client.get(admin_url(trailer)).status_code == 404
    row = {"id": str(segment.pk), "screening": str(trailer.pk), "name": "Mine", "rules": "[]"}
    assert other_organizer_client.post(admin_url(trailer), with_segments(trailer, [row], initial=1)).status_code == 404
    assert Segment.objects.get().name == "Keen"
