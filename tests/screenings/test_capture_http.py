"""The HTTP fallback of the capture protocol: the same frames and answers as the websocket."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screenings.capture.admission import frame_in_flight
from screenings.models import EmotionSample, Participant
from tests.factories import ParticipantFactory, ScreeningFactory
from tests.screenings.capture_helpers import empty_jpeg, face_jpeg

pytestmark = pytest.mark.django_db
State = Participant.State


@pytest.fixture
def watcher():
    return ParticipantFactory(screening=ScreeningFactory(stimulus_duration=30.0), state=State.WATCHING)


def post_frame(client, participant, *, seq="1", media_time="2.5", image=None, token=None):
    data = {"seq": seq, "media_time": media_time}
    if image is not False:
        data["image"] = SimpleUploadedFile("frame.jpg", image or face_jpeg(), content_type="image/jpeg")
    return client.post(reverse("capture-frame", args=[token or participant.token]), data)


def test_a_posted_frame_is_classified_stored_and_acknowledged(client, watcher):
    response = post_frame(client, watcher)
    assert response.status_code == 200
    ack = response.json()
    assert ack["type"] == "ack" and ack["seq"] == 1 and ack["media_time"] == 2.5 and ack["face"] is True
    sample = EmotionSample.objects.get(participant=watcher)
    assert sample.dominant_emotion == ack["emotion"]
    assert sample.looking_at_screen is True


def test_a_face_turned_well_away_is_stored_as_not_looking_at_the_screen(client, watcher):
    import cv2

    from inference.faces import detect_faces
    from inference.images import decode_grey
    from tests.inference.test_attention import turned_head

    grey = decode_grey(face_jpeg())
    [face] = detect_faces(grey, detector="yunet")
    _, turned = cv2.imencode(".jpg", turned_head(grey, face.landmarks, 50))
    assert post_frame(client, watcher, image=turned.tobytes()).json()["face"] is True
    sample = EmotionSample.objects.get(participant=watcher)
    assert sample.face_found and sample.looking_at_screen is False


def test_a_posted_frame_sent_again_is_the_same_sample(client, watcher):
    first = post_frame(client, watcher).json()
    again = post_frame(client, watcher, seq="2", image=empty_jpeg()).json()
    assert again["probabilities"] == first["probabilities"] and again["seq"] == 2
    assert EmotionSample.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"seq": "x"}, 400, "bad_message"),
        ({"seq": "-3"}, 400, "bad_message"),
        ({"media_time": "later"}, 400, "bad_message"),
        ({"media_time": "-1"}, 400, "bad_message"),
        ({"media_time": "31.5"}, 400, "bad_message"),
        ({"media_time": "nan"}, 400, "bad_message"),
        ({"image": False}, 400, "bad_message"),
        ({"image": b"GIF89a but not really"}, 400, "bad_image"),
        ({"image": face_jpeg()[:500]}, 400, "bad_image"),
    ],
)
def test_bad_fields_get_the_protocol_error_and_store_nothing(client, watcher, fields, status, code):
    response = post_frame(client, watcher, **fields)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]
    assert not EmotionSample.objects.exists()


def test_a_frame_over_the_size_limit_is_refused_with_413(client, watcher, settings):
    settings.CAPTURE_MAX_FRAME_BYTES = 2048
    response = post_frame(client, watcher)
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_an_unknown_token_gets_404(client, db):
    response = post_frame(client, None, token="nobody")
    assert response.status_code == 404


def test_a_participant_who_is_not_watching_gets_wrong_phase(client):
    participant = ParticipantFactory(state=State.WATCHED)
    response = post_frame(client, participant)
    assert response.status_code == 409 and response.json()["code"] == "wrong_phase"
    assert not EmotionSample.objects.exists()


def test_a_participant_who_withdraws_while_their_frame_is_read_gets_wrong_phase(client, watcher, monkeypatch):
    from screenings import services
    from screenings.capture import http as capture_view

    read = capture_view.read_emotion_sync

    def read_while_the_participant_withdraws(image, **options):  # type: ignore[no-untyped-def]
        reading = read(image, **options)
        services.participant_withdraw(participant=watcher)
        return reading

    monkeypatch.setattr(capture_view, "read_emotion_sync", read_while_the_participant_withdraws)
    response = post_frame(client, watcher)
    assert response.status_code == 409 and response.json()["code"] == "wrong_phase"
    assert not EmotionSample.objects.exists()


def test_an_erased_participant_gets_wrong_phase(client, watcher):
    from screenings import services

    services.participant_erase(participant=watcher)
    response = post_frame(client, watcher)
    assert response.status_code == 409 and response.json()["code"] == "wrong_phase"
    assert not EmotionSample.objects.exists()


def test_posting_faster_than_the_allowed_rate_is_refused_with_429(client, watcher):
    # More frames at once than the burst the one rate limit allows (capture/rate.py: 16 here).
    statuses = [
        post_frame(client, watcher, seq=str(n), media_time=str(n / 100), image=empty_jpeg()).status_code
        for n in range(24)
    ]
    assert 429 in statuses
    assert EmotionSample.objects.count() == statuses.count(200)


def test_a_get_is_not_allowed(client, watcher):
    assert client.get(reverse("capture-frame", args=[watcher.token])).status_code == 405


def test_a_frame_past_the_limit_on_frames_in_flight_gets_503_with_retry_after(client, watcher, settings):
    settings.CAPTURE_MAX_FRAMES_IN_FLIGHT = 1
    settings.CAPTURE_BUSY_RETRY_SECONDS = 2
    with frame_in_flight(None):  # another frame of this process is being read
        response = post_frame(client, watcher, seq="4", media_time="1.0", image=empty_jpeg())
    assert response.status_code == 503 and response["Retry-After"] == "2"
    body = response.json()
    assert body["type"] == "error" and body["code"] == "busy" and body["seq"] == 4 and body["retry_after"] == 2
    assert not EmotionSample.objects.filter(participant=watcher).exists()
    assert post_frame(client, watcher, seq="5", media_time="1.0", image=empty_jpeg()).status_code == 200
    assert EmotionSample.objects.filter(participant=watcher).count() == 1
