"""The camera check: preview pictures checked for a face (nothing stored), and no watching before a face was seen."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from screenings.models import EmotionSample, Participant
from screenings.rules.camera import CLEARLY_VISIBLE, FACE_CHECKS_PER_MINUTE, NO_FACE, TOO_DARK, TOO_FAR
from tests.factories import ParticipantFactory, ScreeningFactory
from tests.screenings.capture_helpers import empty_jpeg, face_jpeg

pytestmark = pytest.mark.django_db
State = Participant.State


def url(name, participant):
    return reverse(name, args=[participant.token])


def jpeg(grey: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(grey.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def face_grey() -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(face_jpeg())).convert("L"))


def dark_face_jpeg() -> bytes:
    return jpeg(face_grey() * 0.15)


def distant_face_jpeg() -> bytes:
    """The face at a quarter of its size in the middle of a grey picture: someone far from the camera."""
    small = np.asarray(Image.fromarray(face_grey()).resize((160, 120)))
    frame = np.full((480, 640), 128, dtype=np.uint8)
    frame[180:300, 240:400] = small
    return jpeg(frame)


@pytest.fixture
def checker():
    return ParticipantFactory(screening=ScreeningFactory(), state=State.BEFORE_DONE)


def check(client, participant, image=None, **headers):
    data = {} if image is False else {"image": SimpleUploadedFile("p.jpg", image or face_jpeg(), "image/jpeg")}
    return client.post(url("participant-camera-check", participant), data, **headers)


class TestTheCheck:
    def test_a_face_is_found_and_said_to_be_clearly_visible(self, client, checker):
        answer = check(client, checker).json()
        assert answer == {"face": True, "light": True, "problem": None, "guidance": CLEARLY_VISIBLE}

    @pytest.mark.parametrize(
        ("image", "problem", "guidance"),
        [
            (empty_jpeg, "no_face", NO_FACE),
            (dark_face_jpeg, "too_dark", TOO_DARK),
            (distant_face_jpeg, "too_far", TOO_FAR),
        ],
    )
    def test_it_says_in_plain_words_what_to_change(self, client, checker, image, problem, guidance):
        answer = check(client, checker, image()).json()
        assert answer["problem"] == problem and answer["guidance"] == guidance
        if problem != "too_dark":
            assert answer["face"] is False, "live capture would not find this face"

    def test_it_stores_nothing_but_that_the_face_was_seen(self, client, checker, settings, tmp_path):
        check(client, checker, empty_jpeg())
        checker.refresh_from_db()
        assert checker.face_checked_at is None
        check(client, checker)
        checker.refresh_from_db()
        assert checker.face_checked_at is not None
        assert not EmotionSample.objects.exists()
        assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.jpg"))

    def test_it_is_rate_limited_per_participant(self, client, checker):
        for _ in range(FACE_CHECKS_PER_MINUTE):
            assert check(client, checker, empty_jpeg()).status_code == 200
        refused = check(client, checker, empty_jpeg())
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        other = ParticipantFactory(screening=checker.screening, state=State.BEFORE_DONE)
        assert check(client, other, empty_jpeg()).status_code == 200, "another participant has their own limit"

    @pytest.mark.parametrize(
        ("image", "status", "error"), [(False, 400, "bad_message"), (b"not a picture", 400, "bad_image")]
    )
    def test_a_bad_upload_gets_a_reason(self, client, checker, image, status, error):
        response = check(client, checker, image)
        assert response.status_code == status and response.json()["error"] == error

    def test_a_picture_over_the_frame_limit_is_refused(self, client, checker, settings):
        settings.CAPTURE_MAX_FRAME_BYTES = 1024
        response = check(client, checker)
        assert response.status_code == 413 and response.json()["error"] == "too_large"

    def test_a_participant_in_another_phase_is_refused(self, client, screening):
        consented = ParticipantFactory(screening=screening, state=State.CONSENTED)
        response = check(client, consented, HTTP_ACCEPT="application/json")
        assert response.status_code == 409 and response.json()["error"] == "wrong_phase"
        consented.refresh_from_db()
        assert consented.face_checked_at is None

    def test_a_watching_participant_may_check_while_the_video_waits_for_their_face(self, client, screening):
        watcher = ParticipantFactory(screening=screening, state=State.WATCHING)
        assert check(client, watcher).json()["face"] is True

    def test_an_unknown_link_gets_404(self, client, db):
        response = client.post("/p/not-a-real-token/camera/check/", {"image": SimpleUploadedFile("p.jpg", b"x")})
        assert response.status_code == 404


class TestStartingToWatch:
    def test_it_is_refused_until_the_check_has_seen_the_face(self, client, checker):
        check(client, checker, empty_jpeg())
        response = client.post(url("participant-camera", checker))
        assert response.status_code == 400
        assert "We have not seen your face yet" in response.content.decode()
        checker.refresh_from_db()
        assert checker.state == State.BEFORE_DONE
        check(client, checker)
        assert client.post(url("participant-camera", checker)).url == url("participant-watch", checker)

    def test_without_the_check_the_watch_page_is_out_of_reach(self, client, checker):
        client.post(url("participant-camera", checker))
        assert client.get(url("participant-watch", checker)).url == url("participant-camera", checker)

    def test_a_screening_that_does_not_require_the_check_lets_the_participant_start(self, client):
        participant = ParticipantFactory(screening=ScreeningFactory(require_face_check=False), state=State.BEFORE_DONE)
        assert client.post(url("participant-camera", participant)).url == url("participant-watch", participant)

    def test_a_face_seen_for_one_participant_does_not_let_another_start(self, client, checker):
        check(client, checker)
        other = ParticipantFactory(screening=checker.screening, state=State.BEFORE_DONE)
        assert client.post(url("participant-camera", other)).status_code == 400
