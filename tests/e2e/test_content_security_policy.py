"""Under the site's Content-Security-Policy, in a real Chromium: the admin, Swagger UI and Redoc still work,
and the browser reports no violation on them."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import demo

pytestmark = pytest.mark.e2e

REDOCLY_LOGO = "https://cdn.redoc.ly/"


def test_the_admin_and_the_api_docs_work_with_no_policy_violation(server, chromium, no_face_camera_video):
    username, password, _ = demo(server)
    screening_id = server.python("from screenings.models import Screening; print(Screening.objects.get().pk)")
    page = chromium(no_face_camera_video).new_context().new_page()
    violations: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/admin/login/?next=/admin/screenings/screening/{screening_id}/change/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/change/")
    # The admin's own scripts ran: the collaborators' two-box selector is built by SelectFilter2.js.
    page.locator("#id_collaborators_from").wait_for(timeout=10_000)
    # The stimulus's "Currently:" link is the organizers' page, and it plays.
    link = page.locator("p.file-upload a").first.get_attribute("href")
    assert link == f"/organizer/screenings/{screening_id}/stimulus/"
    assert page.request.get(f"{server.url}{link}").status == 200
    page.goto(f"{server.url}/admin/screenings/screening/")
    page.locator("#result_list").wait_for()
    page.goto(f"{server.url}/api/docs/")
    page.locator(".opblock").first.wait_for(timeout=20_000)
    assert page.locator(".opblock").count() > 20
    page.goto(f"{server.url}/api/redoc/")
    page.get_by_text("reactionsite API").first.wait_for(timeout=20_000)
    # ReDoc's bundle shows Redocly's logo from their CDN: blocked on purpose, the site loads nothing from elsewhere.
    assert [violation for violation in violations if REDOCLY_LOGO not in violation] == []
    assert not errors, errors
