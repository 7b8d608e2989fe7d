"""The admin's question inline in a real Chromium: each question shows only the fields of its kind."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import demo

pytestmark = pytest.mark.e2e


def test_each_question_shows_the_fields_of_its_kind(server, browser):
    username, password, _ = demo(server)
    screening_id = server.python("from screenings.models import Screening; print(Screening.objects.get().pk)")
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/admin/login/?next=/admin/screenings/screening/{screening_id}/change/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/change/")
    kinds = page.locator('select[name$="-kind"]')
    assert kinds.count() >= 3
    for index in range(kinds.count()):
        kind = kinds.nth(index).input_value()
        block = page.locator(f"#questions-{index}")
        choices_shown = block.locator(".field-choices, .fieldBox.field-choices").first.is_visible()
        assert choices_shown == (kind in ("single", "multiple")), (index, kind)
    # Turning a free-text question into a choice question shows the choices box at once.
    text_index = next(i for i in range(kinds.count()) if kinds.nth(i).input_value() == "text")
    block = page.locator(f"#questions-{text_index}")
    assert not block.locator('textarea[name$="-choices"]').is_visible()
    kinds.nth(text_index).select_option("single")
    assert block.locator('textarea[name$="-choices"]').is_visible()
    assert not errors
