"""The segment rule builder in the screening's admin page, in a real Chromium: rules built with controls are
stored as the server normalises them, shown back on the next visit, and JSON it cannot show is left as typed."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import demo

pytestmark = pytest.mark.e2e

HAND_TYPED = '[{"label": ["wave 1, part 2"]}]'


def screening_with_two_questions(server, username: str) -> tuple[int, int, int]:
    """A screening of the demo's organizer asking a single choice after watching and a Likert before and after."""
    return tuple(server.python(f"""
import json
from django.contrib.auth import get_user_model
from screenings import services
owner = get_user_model().objects.get(username={username!r})
screening = services.screening_create(owner=owner, title="Segmented trailer", slug="segmented-trailer",
                                      consent_text="Your webcam reads your expressions.")
again = services.question_create(screening=screening, phase="after", kind="single", text="Would you watch it?",
                                 choices=["Yes", "Maybe", "No"], order=1)
mood = services.question_create(screening=screening, phase="both", kind="likert5", text="How do you feel?", order=2)
services.question_create(screening=screening, phase="after", kind="text", text="What stayed with you?", order=3)
print(json.dumps([screening.pk, again.pk, mood.pk]))
"""))  # type: ignore[arg-type]  # fmt: skip


def stored_segments(server, screening_id: int) -> dict[str, list]:
    return server.python(
        "import json; from screenings.models import Segment; "
        f"print(json.dumps({{s.name: s.rules for s in Segment.objects.filter(screening_id={screening_id})}}))"
    )  # type: ignore[return-value]


def signed_in_on_the_screening(server, browser):  # type: ignore[no-untyped-def]
    """The organizer's page on a new screening's change form, the problems it reports, and the screening's ids."""
    username, password, _ = demo(server)
    screening_id, again, mood = screening_with_two_questions(server, username)
    page = browser.new_context().new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: "Content Security Policy" in message.text and problems.append(message.text))
    page.goto(f"{server.url}/admin/login/?next=/admin/screenings/screening/{screening_id}/change/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/change/")
    return page, problems, (screening_id, again, mood)


def add_segment(page, index: int, name: str):  # type: ignore[no-untyped-def]
    page.locator("#segments-group .add-row a").click()
    row = page.locator(f"#segments-{index}")
    row.locator(f'input[name="segments-{index}-name"]').fill(name)
    return row


def add_rule(row):  # type: ignore[no-untyped-def]
    row.get_by_role("button", name="Add a rule").click()
    return row.locator(".segment-rule").last


def likert_range(rule, question: int, phase: str, low: str, high: str = "") -> None:  # type: ignore[no-untyped-def]
    rule.get_by_label("Question").select_option(str(question))
    rule.get_by_label("Phase").select_option(phase)
    rule.get_by_label("Match").select_option("range")
    rule.get_by_label("Minimum answer").fill(low)
    rule.get_by_label("Maximum answer").fill(high)


def save_and_continue(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.locator('input[name="_continue"]').click()


def test_a_segment_built_with_the_controls_is_stored_and_shown_back(server, browser):
    page, problems, (screening_id, again, mood) = signed_in_on_the_screening(server, browser)
    keen = add_segment(page, 0, "Keen viewers")
    rule = add_rule(keen)
    # Free text is not offered: a segment needs a choice, a scale or a number.
    assert "What stayed with you?" not in rule.get_by_label("Question").inner_text()
    rule.get_by_label("Question").select_option(str(again))
    # Asked only after watching: no phase to choose.
    assert rule.get_by_label("Phase").count() == 0
    rule.get_by_label("Yes", exact=True).check()
    rule.get_by_label("Maybe", exact=True).check()
    rule = add_rule(keen)
    likert_range(rule, mood, "after", "4")
    rule = add_rule(keen)
    rule.get_by_label("Kind of rule").select_option("panel_id")
    rule.get_by_label("Panel ids").fill("P1, P2")

    typed = add_segment(page, 1, "Typed")
    typed.locator("summary", has_text="Edit as JSON").click()
    typed.locator('textarea[name="segments-1-rules"]').fill(HAND_TYPED)
    assert "cannot show these rules" in typed.locator(".segment-rules-note").inner_text()
    assert not typed.get_by_role("button", name="Add a rule").is_visible()
    save_and_continue(page)

    expected = [
        {"question": again, "phase": "after", "in": ["Yes", "Maybe"]},
        {"question": mood, "phase": "after", "min": 4},
        {"panel_id": ["P1", "P2"]},
    ]
    stored = stored_segments(server, screening_id)
    assert stored == {"Keen viewers": expected, "Typed": json.loads(HAND_TYPED)}

    # The next visit shows the rules back in the controls, and the textareas hold what the server stored.
    keen, typed = page.locator("#segments-0"), page.locator("#segments-1")
    assert keen.locator('input[name="segments-0-name"]').input_value() == "Keen viewers"
    rules = keen.locator(".segment-rule")
    assert rules.count() == 3
    assert rules.nth(0).get_by_label("Question").input_value() == str(again)
    ticked = [rules.nth(0).get_by_label(choice, exact=True).is_checked() for choice in ("Yes", "Maybe", "No")]
    assert ticked == [True, True, False]
    assert rules.nth(1).get_by_label("Question").input_value() == str(mood)
    assert rules.nth(1).get_by_label("Phase").input_value() == "after"
    assert rules.nth(1).get_by_label("Match").input_value() == "range"
    assert rules.nth(1).get_by_label("Minimum answer").input_value() == "4"
    assert rules.nth(1).get_by_label("Maximum answer").input_value() == ""
    assert rules.nth(2).get_by_label("Kind of rule").input_value() == "panel_id"
    assert rules.nth(2).get_by_label("Panel ids").input_value() == "P1, P2"
    keen_json = keen.locator('textarea[name="segments-0-rules"]')
    assert keen_json.input_value() == json.dumps(stored["Keen viewers"], ensure_ascii=False)
    assert not keen.locator(".segment-rules-note").is_visible()
    assert typed.locator('textarea[name="segments-1-rules"]').input_value() == HAND_TYPED
    assert typed.locator('textarea[name="segments-1-rules"]').is_visible()
    assert typed.locator(".segment-rules-note").is_visible()

    # Saved again without a change, the hand-typed JSON is still what was typed.
    save_and_continue(page)
    assert stored_segments(server, screening_id) == stored
    assert page.locator('textarea[name="segments-1-rules"]').input_value() == HAND_TYPED
    assert not problems, problems


def test_a_range_the_wrong_way_round_gets_the_servers_message_and_is_not_stored(server, browser):
    page, problems, (screening_id, _, mood) = signed_in_on_the_screening(server, browser)
    likert_range(add_rule(add_segment(page, 0, "Upside down")), mood, "before", "5", "2")
    save_and_continue(page)
    assert "Rule 1: min (5) is above max (2)." in page.locator("#segments-0 .errorlist").inner_text()
    assert stored_segments(server, screening_id) == {}
    # The refused rules come back in the controls, as they were built.
    rule = page.locator("#segments-0 .segment-rule").first
    assert rule.get_by_label("Minimum answer").input_value() == "5"
    assert rule.get_by_label("Maximum answer").input_value() == "2"
    assert not problems, problems
