"""The face check in a real Chromium: a camera that shows no face cannot start the video, one with a face can,
and a face lost while watching is said in an overlay (and pauses the video, where the organizer chose it)."""

from __future__ import annotations

import pytest

from tests.e2e.test_participant_flow import answer_everything, personal_link

pytestmark = pytest.mark.e2e
START = "Camera works, start the video"


def walk_to_camera(page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="I agree, take part").click()
    answer_everything(page)
    page.wait_for_url("**/camera/")


def test_the_video_starts_only_once_the_camera_check_has_seen_a_face(
    server, chromium, no_face_camera_video, fake_camera_video
):
    link = personal_link(server)
    empty_room = chromium(no_face_camera_video).new_page()
    walk_to_camera(empty_room, link)
    guidance = empty_room.locator("#camera-guidance")
    guidance.get_by_text("We can't see your face").wait_for(timeout=30_000)
    assert "arm's length" in guidance.text_content()
    assert empty_room.get_by_role("button", name=START).is_disabled()
    # The page's button is not the only way to ask: the server refuses the start itself.
    empty_room.evaluate("document.getElementById('camera-form').submit()")
    empty_room.get_by_text("We have not seen your face yet").wait_for()
    assert empty_room.url.endswith("/camera/")

    with_face = chromium(fake_camera_video).new_page()
    with_face.goto(link)
    with_face.wait_for_url("**/camera/")
    with_face.locator("#camera-guidance").get_by_text("Your face is clearly visible").wait_for(timeout=30_000)
    with_face.get_by_role("button", name=START).click()
    with_face.wait_for_url("**/watch/")


def test_a_face_lost_while_watching_is_said_discreetly_and_pauses_where_the_organizer_chose_it(
    server, chromium, no_face_camera_video
):
    link = personal_link(server)
    server.python(
        "from screenings.models import Screening; "
        "print(Screening.objects.update(require_face_check=False, pause_without_face=True))"
    )
    page = chromium(no_face_camera_video).new_page()
    walk_to_camera(page, link)
    page.wait_for_function("() => !document.getElementById('camera-continue').disabled", timeout=20_000)
    page.get_by_role("button", name=START).click()
    page.wait_for_url("**/watch/")
    page.get_by_role("button", name="Play").click()
    overlay = page.locator("#face-overlay")
    overlay.wait_for(state="visible", timeout=60_000)
    assert overlay.get_attribute("role") == "status" and overlay.get_attribute("aria-live") == "polite"
    assert "We can't see your face" in overlay.text_content()
    assert "paused" in overlay.text_content()
    assert page.evaluate("document.getElementById('stimulus').paused")
    samples = server.python(
        "from screenings.models import EmotionSample as S; import json; "
        "print(json.dumps([S.objects.count(), S.objects.filter(face_found=True).count()]))"
    )
    assert samples[0] >= 3 and samples[1] == 0
