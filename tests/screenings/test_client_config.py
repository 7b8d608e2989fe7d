"""The pages' scripts get their configuration from the server, written with json_script, and run no inline code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inference.labels import EMOTION_COLOURS, EMOTIONS
from screenings.capture.protocol import CLOSE_NOT_ALLOWED, CLOSE_REPLACED, CLOSE_UNKNOWN
from screenings.models import MediaAnalysis, Participant, Screening
from screenings.rules.camera import FACE_CHECKS_PER_MINUTE, NO_FACE_SAMPLES_BEFORE_NOTICE
from screenings.rules.slots import SLOT_EPSILON
from tests.factories import ParticipantFactory
from tests.media_clips import astronaut_rgb, jpeg_bytes

pytestmark = pytest.mark.django_db
State = Participant.State
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
MODULE_TAG = re.compile(r"""<script type="module" src="\{% static '[\w/.-]+\.js' %\}"></script>""")
CLOSE_CODES = {"unknown": CLOSE_UNKNOWN, "notAllowed": CLOSE_NOT_ALLOWED, "replaced": CLOSE_REPLACED}


def page_config(html: str, element_id: str) -> object:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert match, f"no json_script #{element_id} on the page"
    return json.loads(match.group(1))


def assert_only_configuration_and_modules(html: str) -> None:
    for tag in SCRIPT_TAG.findall(html):
        assert 'type="application/json"' in tag or ('type="module"' in tag and "src=" in tag), tag


def test_the_watch_page_gets_the_close_codes_and_the_slot_rule_from_python(client, screening):
    watcher = ParticipantFactory(screening=screening, state=State.WATCHING)
    html = client.get(reverse("participant-watch", args=[watcher.token])).content.decode()
    config = page_config(html, "watch-config")
    assert config["closeCodes"] == CLOSE_CODES
    assert config["slotEpsilon"] == SLOT_EPSILON
    assert config["samplingInterval"] == 1.0
    assert config["socketPath"] == f"/ws/capture/{watcher.token}/"
    assert config["shareScreen"] is False
    assert_only_configuration_and_modules(html)


def test_the_camera_check_is_told_to_ask_for_the_screen_when_the_screening_reads_a_shared_screen(client, screening):
    screening.capture_source = Screening.CaptureSource.SCREEN
    screening.save(update_fields=["capture_source"])
    participant = ParticipantFactory(screening=screening, state=State.BEFORE_DONE)
    html = client.get(reverse("participant-camera", args=[participant.token])).content.decode()
    assert page_config(html, "camera-config")["shareScreen"] is True
    assert_only_configuration_and_modules(html)


def test_the_camera_check_is_told_where_to_check_the_face_and_whether_it_must_be_seen(client, screening):
    participant = ParticipantFactory(screening=screening, state=State.BEFORE_DONE)
    html = client.get(reverse("participant-camera", args=[participant.token])).content.decode()
    config = page_config(html, "camera-config")
    assert config["checkUrl"] == reverse("participant-camera-check", args=[participant.token])
    assert config["requireFaceCheck"] is True and config["faceSeen"] is False
    assert config["checkEveryMs"] * FACE_CHECKS_PER_MINUTE > 60_000, "slower than the check's rate limit"


def test_the_watch_page_is_told_when_to_say_the_face_is_missing_and_whether_to_pause(client, screening):
    screening.pause_without_face = True
    screening.save(update_fields=["pause_without_face"])
    watcher = ParticipantFactory(screening=screening, state=State.WATCHING)
    html = client.get(reverse("participant-watch", args=[watcher.token])).content.decode()
    config = page_config(html, "watch-config")
    assert config["noFaceAfter"] == NO_FACE_SAMPLES_BEFORE_NOTICE
    assert config["pauseWithoutFace"] is True
    assert config["faceCheckUrl"] == reverse("participant-camera-check", args=[watcher.token])
    assert 'id="face-overlay"' in html and 'role="status"' in html


def test_the_live_view_gets_the_emotions_their_colours_and_the_slot_rule_from_python(organizer_client, screening):
    html = organizer_client.get(reverse("organizer-live", args=[screening.pk])).content.decode()
    config = page_config(html, "live-state")
    assert config["emotions"] == list(EMOTIONS)
    assert config["colours"] == EMOTION_COLOURS
    assert config["closeCodes"] == CLOSE_CODES
    assert config["slotEpsilon"] == SLOT_EPSILON
    assert_only_configuration_and_modules(html)


def test_another_organizer_gets_no_live_configuration(other_organizer_client, screening):
    response = other_organizer_client.get(reverse("organizer-live", args=[screening.pk]))
    assert response.status_code == 404
    assert b"live-state" not in response.content


def test_the_analysis_page_gets_the_status_names_from_python(organizer_client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("face.jpg", jpeg_bytes(astronaut_rgb()), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=False):
        response = organizer_client.post(reverse("organizer-analyses-images"), {"images": [upload]})
    analysis = MediaAnalysis.objects.get()
    html = organizer_client.get(response["Location"]).content.decode()
    config = page_config(html, "analysis-config")
    assert config["status_url"] == reverse("api-analysis-detail", args=[analysis.pk])
    assert config["status_labels"] == [list(choice) for choice in MediaAnalysis.Status.choices]
    assert config["finished_statuses"] == list(MediaAnalysis.FINISHED)
    assert_only_configuration_and_modules(html)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_no_template_runs_inline_script(template):
    source = template.read_text()
    tags = SCRIPT_TAG.findall(source)
    modules = MODULE_TAG.findall(source)
    assert len(tags) == len(modules), f"{template}: every <script> is a module loaded from static/"
