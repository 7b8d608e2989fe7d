"""The scale-out recipe of deploy/, for real: nginx (the committed site config) in front of two Daphne
processes (the committed units) on PostgreSQL and Redis with an RQ media worker; everything through nginx.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.deploy.clients import get, post, process_prefix, until, viewer, watch_together
from tests.deploy.site_data import PASSWORD
from tests.deploy.stack import Stack
from tests.e2e.test_participant_flow import STIMULUS_SECONDS, answer_everything, walk_to_watch
from tests.media_clips import face_clip
from tests.screenings.capture_helpers import face_jpeg

pytestmark = pytest.mark.e2e


def test_nginx_serves_collected_static_files_itself_and_redirects_plain_http(scale_out):
    # A file only STATIC_ROOT has, written after the processes started (WhiteNoise indexes files at
    # start): only nginx can serve it.
    marker = scale_out.data_dir / "static" / "deploy-test-marker.txt"
    marker.write_text("served by nginx")
    response = get(scale_out, "/static/deploy-test-marker.txt")
    assert (response.status_code, response.text) == (200, "served by nginx")
    module = get(scale_out, "/static/js/lib/capture.js")
    assert module.status_code == 200
    assert module.headers["Content-Type"] == "application/javascript"
    assert module.content == (scale_out.data_dir / "static" / "js" / "lib" / "capture.js").read_bytes()

    plain = requests.get(f"http://127.0.0.1:{scale_out.http_port}/s/demo/join/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")


def test_the_site_behind_nginx_knows_it_is_served_over_https(scale_out):
    response = get(scale_out, "/admin/login/")
    assert response.status_code == 200
    # BEHIND_TLS_PROXY=1 from the example environment trusts nginx's X-Forwarded-Proto.
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]


def test_capture_frames_over_http_pass_nginx_up_to_the_sites_limit_which_answers_in_the_protocol(scale_out):
    audience = scale_out.call("site_audience", viewers=1, interval="1", label="http-limits")
    path = f"/api/capture/{audience['tokens'][0]}/frames/"
    accepted = post(scale_out, path, data={"seq": "0", "media_time": "0"}, files={"image": face_jpeg()})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["type"] == "ack"
    # CAPTURE_MAX_FRAME_BYTES (1 MiB) and one byte: refused by the site, in the protocol's JSON.
    too_large = post(scale_out, path, data={"seq": "1", "media_time": "1"}, files={"image": bytes(1024 * 1024 + 1)})
    assert too_large.status_code == 413
    assert too_large.json()["code"] == "too_large"


def live_samples(page) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """The live page's Samples column per participant id (each row's label begins with ``#<id>``)."""
    rows = page.evaluate(
        "() => { const headers = [...document.querySelectorAll('.live-table thead th')].map(th => th.textContent);"
        " const column = headers.indexOf('Samples');"
        " return [...document.querySelectorAll('#participants tr')]"
        ".map(row => [row.cells[0].textContent, Number(row.cells[column].textContent)]); }"
    )
    return {int(label.split()[0].lstrip("#")): samples for label, samples in rows}


def organizer_live_page(stack: Stack, context, audience: dict):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(f"{stack.url}/admin/login/?next=/organizer/screenings/{audience['screening']}/live/")
    page.fill("#id_username", audience["username"])
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/live/")
    page.get_by_text("Live: updates arrive as participants watch.").wait_for(timeout=30_000)
    return page


def test_the_organizers_live_view_receives_samples_from_viewers_on_both_processes(scale_out, browser):
    audience = scale_out.call("site_audience", viewers=4, interval="0.5", label="live")
    errors: list[str] = []
    context = browser.new_context(ignore_https_errors=True)
    context.on("weberror", lambda error: errors.append(str(error.error)))
    organizer = organizer_live_page(scale_out, context, audience)
    viewers = [viewer(scale_out, token, interval=0.5) for token in audience["tokens"]]
    slots = 12
    with ThreadPoolExecutor(1) as pool:
        # Beside the browser, whose synchronous driver cannot share a thread with an event loop.
        watching = pool.submit(asyncio.run, watch_together(viewers, slots, pace=0.5, timeout=90))
        until(lambda: all(viewer.connections for viewer in viewers) or watching.done(), timeout=60, what="connected")
        channels = scale_out.call("site_capture_channels", participants=audience["participants"])
        watching.result()
    processes = {int(pk): process_prefix(channel) for pk, channel in channels.items()}
    assert len(set(processes.values())) == 2, f"the viewers are not on both processes: {processes}"
    assert [len(viewer.acknowledged) for viewer in viewers] == [slots] * 4, [viewer.errors for viewer in viewers]

    # The organizer's socket is on one process; the other's samples reached it through Redis.
    organizer.wait_for_function(
        "([ids, slots]) => ids.every(id => [...document.querySelectorAll('#participants tr')]"
        ".some(row => row.cells[0].textContent.startsWith('#' + id + ' ') && row.textContent.includes(String(slots))))",
        arg=[audience["participants"], slots],
        timeout=30_000,
    )
    assert live_samples(organizer) == dict.fromkeys(audience["participants"], slots)
    assert errors == []


def test_a_participant_watches_through_nginx_in_chromium_with_the_camera_and_finishes(scale_out, browser):
    output = scale_out.manage("load_demo", "--base-url", scale_out.url)
    link = re.search(r"A personal link:\s+(\S+)", output)
    assert link and link.group(1).startswith(scale_out.url), output
    page = browser.new_context(ignore_https_errors=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    walk_to_watch(page, link.group(1))
    page.get_by_role("button", name="Play").click()
    page.get_by_role("link", name="Continue to the last questions").wait_for(timeout=(STIMULUS_SECONDS + 60) * 1000)
    page.get_by_role("link", name="Continue to the last questions").click()
    page.wait_for_url("**/after/")
    answer_everything(page)
    page.get_by_text("Thank you").wait_for()
    assert errors == []

    outcome = scale_out.call("site_demo_outcome", token=link.group(1).rstrip("/").rsplit("/", 1)[-1])
    assert outcome["state"] == "completed"
    media_times = outcome["media_times"]
    assert media_times == sorted(set(media_times)), "one sample per media time"
    assert len(media_times) >= STIMULUS_SECONDS - 2, f"too few samples: {media_times}"
    assert outcome["faces"] >= 0.8 * len(media_times), outcome


def test_a_video_uploaded_through_nginx_is_analysed_by_the_rq_worker(scale_out, tmp_path):
    audience = scale_out.call("site_audience", viewers=0, interval="1", label="analysis")
    headers = {"Authorization": f"Token {audience['api_token']}"}
    clip = face_clip(tmp_path / "lab session.mp4", face_seconds=2, blank_seconds=1)
    with clip.open("rb") as video:
        queued = post(scale_out, "/api/analyses/video/", headers=headers,
                      data={"interval": "0.5", "annotate_video": "false"}, files={"video": video})  # fmt: skip
    assert queued.status_code == 202, queued.text
    analysis = queued.json()
    deadline = time.monotonic() + 180
    while analysis["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.5)
        analysis = get(scale_out, f"/api/analyses/{analysis['id']}/", headers=headers).json()
    assert analysis["status"] == "succeeded", (analysis, scale_out.logs())
    timeline = get(scale_out, f"/api/analyses/{analysis['id']}/files/timeline.csv", headers=headers)
    rows = timeline.text.strip().splitlines()
    assert rows[0].startswith("time,face,")
    assert len(rows) == 1 + 6
