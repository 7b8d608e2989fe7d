"""An organizer uploads a video in a real Chromium; a real worker analyses it; the annotated H.264 video plays."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT
from tests.media_clips import face_clip

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.e2e


@pytest.fixture
def worker(server):  # type: ignore[no-untyped-def]
    """``manage.py media_worker`` beside the server, on its database and job queue."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "media_worker"],
        cwd=ROOT, env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yield process
    process.kill()
    process.wait()


def test_an_organizer_uploads_a_video_follows_the_job_and_plays_the_annotated_video(server, worker, browser, tmp_path):
    server.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user('olga', password='{PASSWORD}', is_staff=True)"
    ))  # fmt: skip
    clip = face_clip(tmp_path / "lab session.mp4", face_seconds=2, blank_seconds=1)
    page = browser.new_page()
    page.goto(f"{server.url}/admin/login/?next=/organizer/analyses/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/organizer/analyses/")

    page.set_input_files("input[name=video]", str(clip))
    page.fill("input[name=interval]", "0.5")
    page.click("text=Analyse video")
    page.wait_for_url("**/organizer/analyses/*/")
    # The page follows the job through the API and shows the results once the worker is done.
    page.wait_for_selector("video", timeout=180_000)
    assert "Done" in page.inner_text("#job-status")

    video = page.locator("video")
    video.evaluate("element => { element.muted = true; return element.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.5", timeout=30_000)
    size = video.evaluate("element => [element.videoWidth, element.videoHeight, element.error]")
    assert size == [320, 240, None]
    plot_width = page.locator("img.chart").evaluate("image => image.naturalWidth")
    assert plot_width > 0
    timeline = page.request.get(server.url + page.locator("text=Timeline (CSV)").get_attribute("href"))
    rows = timeline.text().strip().splitlines()
    assert rows[0].startswith("time,face,")
    assert len(rows) == 1 + 6
