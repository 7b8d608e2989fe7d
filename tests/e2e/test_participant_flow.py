"""A participant in a real Chromium, with a fake camera showing real faces, against a real Daphne server."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from screenings.rules.slots import capture_offset

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STIMULUS_SECONDS = 18


def personal_link(server) -> str:
    output = server.manage("load_demo", "--base-url", server.url)
    return next(line.split()[-1] for line in output.splitlines() if "A personal link" in line)


def answer_everything(page) -> None:
    """Answer every question on the page: last radio option, first choice, a slider moved, a number, some text."""
    names = page.eval_on_selector_all("input[type=radio]", "inputs => [...new Set(inputs.map(i => i.name))]")
    for name in names:
        page.locator(f'input[name="{name}"]').last.check()
    for checkbox in page.locator("input[type=checkbox]:visible").all()[:1]:
        checkbox.check()
    for slider in page.locator("input[type=range]").all():
        slider.focus()
        page.keyboard.press("ArrowRight")
    for number in page.locator("input[type=number]").all():
        number.fill("3")
    for text in page.locator("textarea").all():
        text.fill("The chase scene.")
    page.get_by_role("button", name="Continue").click()


def walk_to_watch(page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="I agree, take part").click()
    answer_everything(page)
    page.wait_for_url("**/camera/")
    start = page.get_by_role("button", name="Camera works, start the video")
    start.wait_for(state="visible")
    page.wait_for_function("() => !document.getElementById('camera-continue').disabled", timeout=20_000)
    start.click()
    page.wait_for_url("**/watch/")


def on_the_participants_offset(media_times: list[float], link: str) -> bool:
    """Each of the demo's one-second slots sampled at the participant's own offset into it (docs/protocol.md);
    the end of the stimulus is sampled at the end."""
    offset = capture_offset(link.rstrip("/").rsplit("/", 1)[-1], 1.0)
    return all(t == round(math.floor(t) + offset, 3) or t == STIMULUS_SECONDS for t in media_times)


def samples(server) -> list[dict]:
    return server.python(
        "import json; from screenings.models import EmotionSample as S; "
        "rows = S.objects.order_by('media_time').values('media_time', 'face_found', 'dominant_emotion'); "
        "print(json.dumps(list(rows)))"
    )


def test_a_participant_joins_answers_watches_with_the_camera_and_finishes(server, browser, tmp_path):
    link = personal_link(server)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    walk_to_watch(page, link)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(5_000)
    screenshot = page.screenshot(path=str(tmp_path / "participant-watch.png"))
    assert screenshot.startswith(b"\x89PNG")
    if os.environ.get("SAVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "participant-watch.png").write_bytes(screenshot)
    page.get_by_role("link", name="Continue to the last questions").wait_for(timeout=(STIMULUS_SECONDS + 40) * 1000)
    page.get_by_role("link", name="Continue to the last questions").click()
    page.wait_for_url("**/after/")
    slider = page.locator("input[type=range]").first
    number = page.locator("output.slider-value").first
    assert number.text_content() == "not answered yet", "an untouched slider is no answer"
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert number.text_content() == slider.input_value() == "51", "the slider's number once moved"
    answer_everything(page)
    page.get_by_text("Thank you").wait_for()

    stored = samples(server)
    media_times = [sample["media_time"] for sample in stored]
    assert media_times == sorted(set(media_times)), "one sample per media time"
    assert all(0 <= t <= STIMULUS_SECONDS for t in media_times)
    assert on_the_participants_offset(media_times, link), f"not sampled at the participant's offset: {media_times}"
    assert len(media_times) >= STIMULUS_SECONDS - 2, f"too few samples: {media_times}"
    face_rate = sum(sample["face_found"] for sample in stored) / len(stored)
    assert face_rate >= 0.8, f"faces found in only {face_rate:.0%} of frames"
    state = server.python(
        "import json; from screenings.models import Participant as P; "
        "print(json.dumps(list(P.objects.exclude(watched_at=None).values_list('state', flat=True))))"
    )
    assert state == ["completed"]


def test_frames_captured_while_the_connection_is_down_are_resent_and_none_is_lost(server, browser):
    link = personal_link(server)
    page = browser.new_page()
    walk_to_watch(page, link)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(4_000)
    server.stop()  # the connection dies mid-stimulus; the page keeps sampling into its queue
    page.wait_for_timeout(4_000)
    server.start()
    page.get_by_role("link", name="Continue to the last questions").wait_for(timeout=(STIMULUS_SECONDS + 60) * 1000)

    media_times = [sample["media_time"] for sample in samples(server)]
    slots = [math.floor(t) for t in media_times]
    assert slots == list(range(slots[0], slots[-1] + 1)), f"gaps or duplicates: {media_times}"
    assert on_the_participants_offset(media_times, link), f"not sampled at the participant's offset: {media_times}"
    assert slots[0] <= 1 and slots[-1] >= STIMULUS_SECONDS - 1
