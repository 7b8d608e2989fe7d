"""An organizer follows a participant live in a real Chromium: the live page's modules, socket and chart."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import demo
from tests.e2e.test_participant_flow import walk_to_watch

pytestmark = pytest.mark.e2e


def test_the_organizer_sees_a_participant_connect_and_their_samples_arrive(server, browser):
    username, password, link = demo(server)
    screening_id = server.python("from screenings.models import Screening; print(Screening.objects.get().pk)")
    organizer = browser.new_context().new_page()
    errors: list[str] = []
    organizer.on("pageerror", lambda error: errors.append(str(error)))
    organizer.goto(f"{server.url}/admin/login/?next=/organizer/screenings/{screening_id}/live/")
    organizer.fill("#id_username", username)
    organizer.fill("#id_password", password)
    organizer.click("input[type=submit]")
    organizer.wait_for_url("**/live/")
    organizer.get_by_text("Live: updates arrive as participants watch.").wait_for(timeout=20_000)
    legend = organizer.locator("#legend span")
    assert legend.count() == 7
    assert legend.first.evaluate("span => getComputedStyle(span).color") == "rgb(214, 39, 40)", "angry in #d62728"

    participant = browser.new_context().new_page()
    participant.on("pageerror", lambda error: errors.append(str(error)))
    walk_to_watch(participant, link)
    participant.get_by_role("button", name="Play").click()
    # One row: the participant's label, "connected", media time, face, emotion, samples.
    # A function, not an expression: the page's CSP forbids evaluating a string.
    organizer.wait_for_function(
        "() => [...document.querySelectorAll('#participants tr')].some(row => row.cells[1].textContent === 'connected'"
        " && Number(row.cells[5].textContent) >= 3)",
        timeout=30_000,
    )
    # The chart says how many viewers its points are the means of: this one participant.
    organizer.wait_for_function(
        "() => document.getElementById('chart-viewers').textContent.includes(': 1 viewer (')", timeout=30_000
    )
    assert errors == []
