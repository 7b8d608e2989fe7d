"""The capture protocol over a real websocket (Channels' WebsocketCommunicator)."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from inference import serving
from screenings.capture import consumers
from screenings.capture.routing import websocket_urlpatterns
from screenings.models import EmotionSample, Participant
from tests.factories import ParticipantFactory, ScreeningFactory
from tests.screenings.capture_helpers import binary_frame, empty_jpeg, frame_message
from tests.screenings.test_capture_limits_server import padded_jpeg

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
State = Participant.State
application = URLRouter(websocket_urlpatterns)


@pytest.fixture
def watcher(db):
    return ParticipantFactory(screening=ScreeningFactory(stimulus_duration=30.0), state=State.WATCHING)


async def open_socket(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/capture/{token}/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def exchange(communicator: WebsocketCommunicator, message: dict | str) -> dict:
    await communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))
    return json.loads(await communicator.receive_from(timeout=30))


async def closed_with(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=10)
    assert output["type"] == "websocket.close"
    return output["code"]


def samples_of(participant: Participant) -> list[EmotionSample]:
    return list(EmotionSample.objects.filter(participant=participant).order_by("media_time"))


async def test_a_frame_with_a_face_is_classified_stored_and_acknowledged(watcher):
    communicator = await open_socket(watcher.token)
    ack = await exchange(communicator, frame_message(1, 2.0, data_url=True))
    assert ack["type"] == "ack" and ack["seq"] == 1 and ack["media_time"] == 2.0
    assert ack["face"] is True
    assert set(ack["probabilities"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert sum(ack["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert ack["emotion"] == max(ack["probabilities"], key=ack["probabilities"].get)
    [sample] = await database_sync_to_async(samples_of)(watcher)
    assert sample.face_found and sample.media_time == 2.0 and sample.dominant_emotion == ack["emotion"]
    assert sample.face_width > 50 and sample.model_version and sample.looking_at_screen is True
    await communicator.disconnect()


async def test_a_frame_without_a_face_is_stored_as_no_face(watcher):
    communicator = await open_socket(watcher.token)
    ack = await exchange(communicator, frame_message(1, 1.0, empty_jpeg()))
    assert ack == {"type": "ack", "seq": 1, "media_time": 1.0, "face": False, "emotion": None, "probabilities": None}
    await communicator.disconnect()


async def test_a_frame_sent_again_is_acknowledged_again_and_stored_once(watcher):
    communicator = await open_socket(watcher.token)
    first = await exchange(communicator, frame_message(1, 3.0))
    again = await exchange(communicator, frame_message(2, 3.0, empty_jpeg()))
    assert again["seq"] == 2 and again["face"] == first["face"] and again["probabilities"] == first["probabilities"]
    assert len(await database_sync_to_async(samples_of)(watcher)) == 1
    await communicator.disconnect()


async def test_acks_come_back_in_the_order_frames_were_sent(watcher):
    communicator = await open_socket(watcher.token)
    for seq in range(5):
        await communicator.send_to(text_data=json.dumps(frame_message(seq, float(seq), empty_jpeg())))
    seqs = [json.loads(await communicator.receive_from(timeout=30))["seq"] for _ in range(5)]
    assert seqs == [0, 1, 2, 3, 4]
    await communicator.disconnect()


BAD_MESSAGES = [
    ("{not json", "bad_message"),
    (json.dumps(["frame"]), "bad_message"),
    (json.dumps({"type": "selfie"}), "bad_message"),
    (json.dumps({"type": "frame", "media_time": 1, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": -1, "media_time": 1, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": True, "media_time": 1, "image": "AAAA"}), "bad_message"),
    # More than 4,300 digits: Python's JSON parser refuses the number itself (a ValueError, not a JSONDecodeError).
    ('{"type": "frame", "seq": ' + "9" * 5000 + ', "media_time": 1, "image": "AAAA"}', "bad_message"),
    # Above 2**53 - 1 a browser cannot hold the seq exactly, so it could not match the reply to its frame.
    (json.dumps({"type": "frame", "seq": 2**53, "media_time": 1, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": -0.5, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": 99.0, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": "soon", "image": "AAAA"}), "bad_message"),
    # A whole number too large for a float (OverflowError), as a number and as text.
    (json.dumps({"type": "frame", "seq": 1, "media_time": 10**400, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": "1" * 400, "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": [1], "image": "AAAA"}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": 1}), "bad_message"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": 1, "image": "***not base64***"}), "bad_image"),
    (json.dumps({"type": "frame", "seq": 1, "media_time": 1, "image": "aGVsbG8gd29ybGQ="}), "bad_image"),
]


@pytest.mark.parametrize(("text", "code"), BAD_MESSAGES)
async def test_a_bad_message_gets_its_error_code_and_the_socket_stays_open(watcher, text, code):
    communicator = await open_socket(watcher.token)
    error = await exchange(communicator, text)
    assert error["type"] == "error" and error["code"] == code and error["detail"]
    ack = await exchange(communicator, frame_message(7, 4.0, empty_jpeg()))
    assert ack["type"] == "ack" and ack["seq"] == 7
    assert [s.media_time for s in await database_sync_to_async(samples_of)(watcher)] == [4.0]
    await communicator.disconnect()


async def test_a_binary_frame_is_classified_stored_and_acknowledged(watcher):
    communicator = await open_socket(watcher.token)
    await communicator.send_to(bytes_data=binary_frame(3, 2.0))
    ack = json.loads(await communicator.receive_from(timeout=30))
    assert ack["type"] == "ack" and ack["seq"] == 3 and ack["media_time"] == 2.0 and ack["face"] is True
    [sample] = await database_sync_to_async(samples_of)(watcher)
    assert sample.face_found and sample.dominant_emotion == ack["emotion"]
    # Text and binary frames are the same frames: the same media time again is the same sample.
    again = await exchange(communicator, frame_message(4, 2.0, empty_jpeg()))
    assert again["face"] is True and again["probabilities"] == ack["probabilities"]
    await communicator.disconnect()


BAD_BINARY = [
    (b"\xff\xd8\xff\xe0 a JPEG without a header line", "bad_message"),
    (b"not json\n\xff\xd8", "bad_message"),
    (b'["frame"]\n\xff\xd8', "bad_message"),
    (b'{"type": "end", "seq": 1, "media_time": 1}\n\xff\xd8', "bad_message"),
    (b'{"type": "frame", "media_time": 1}\n\xff\xd8', "bad_message"),
    (b'{"type": "frame", "seq": 1, "media_time": 99}\n\xff\xd8', "bad_message"),
    (b'{"type": "frame", "seq": 1, "media_time": ' + b"9" * 400 + b"}\n\xff\xd8", "bad_message"),
    (b'{"type": "frame", "seq": 1, "media_time": 1e400}\n\xff\xd8', "bad_message"),
    (b'{"type": "frame", "seq": ' + b"9" * 1000 + b', "media_time": 1}\n\xff\xd8', "bad_message"),
    (b'{"type": "frame", "seq": ' + str(2**53).encode() + b', "media_time": 1}\n\xff\xd8', "bad_message"),
    (b'{"type": "frame", "seq": 1, "media_time": 1}\n', "bad_image"),
    (b'{"type": "frame", "seq": 1, "media_time": 1}\nhello world', "bad_image"),
    (b"\xfe\xff" * 10 + b"\n\xff\xd8", "bad_message"),
    (b"{" + b" " * 2000 + b"}\n\xff\xd8", "bad_message"),
]


@pytest.mark.parametrize(("data", "code"), BAD_BINARY)
async def test_a_bad_binary_frame_gets_its_error_code_and_the_socket_stays_open(watcher, data, code):
    communicator = await open_socket(watcher.token)
    await communicator.send_to(bytes_data=data)
    error = json.loads(await communicator.receive_from(timeout=30))
    assert error["type"] == "error" and error["code"] == code and error["detail"]
    await communicator.send_to(bytes_data=binary_frame(7, 4.0, empty_jpeg()))
    ack = json.loads(await communicator.receive_from(timeout=30))
    assert ack["type"] == "ack" and ack["seq"] == 7
    assert [s.media_time for s in await database_sync_to_async(samples_of)(watcher)] == [4.0]
    await communicator.disconnect()


async def test_a_binary_frame_over_the_byte_limit_is_too_large_and_keeps_its_seq(watcher, settings):
    settings.CAPTURE_MAX_FRAME_BYTES = 4096
    communicator = await open_socket(watcher.token)
    await communicator.send_to(bytes_data=binary_frame(1, 1.0))
    error = json.loads(await communicator.receive_from(timeout=30))
    # The seq lets the page drop that frame rather than send it again after every reconnect.
    assert error["code"] == "too_large" and error["seq"] == 1
    await communicator.disconnect()
    assert await database_sync_to_async(samples_of)(watcher) == []


async def send_frame(communicator: WebsocketCommunicator, kind: str, seq: int, media_time: float, image: bytes) -> dict:
    if kind == "text":
        await communicator.send_to(text_data=json.dumps(frame_message(seq, media_time, image)))
    else:
        await communicator.send_to(bytes_data=binary_frame(seq, media_time, image))
    return json.loads(await communicator.receive_from(timeout=30))


@pytest.mark.parametrize("kind", ["text", "binary"])
async def test_a_frame_of_exactly_the_byte_limit_is_acknowledged_and_one_byte_more_is_too_large(
    watcher, settings, kind
):
    settings.CAPTURE_MAX_FRAME_BYTES = 4096
    communicator = await open_socket(watcher.token)
    # As text, 4,096 bytes are 5,464 base64 characters ending in "==": the padding counts for no byte.
    ack = await send_frame(communicator, kind, 1, 1.0, padded_jpeg(4096))
    assert ack["type"] == "ack" and ack["seq"] == 1
    error = await send_frame(communicator, kind, 2, 2.0, padded_jpeg(4097))
    assert error["code"] == "too_large" and error["seq"] == 2
    assert [sample.media_time for sample in await database_sync_to_async(samples_of)(watcher)] == [1.0]
    await communicator.disconnect()


async def test_frames_over_the_byte_limit_or_side_limit_are_too_large(watcher, settings):
    settings.CAPTURE_MAX_FRAME_BYTES = 4096
    communicator = await open_socket(watcher.token)
    error = await exchange(communicator, frame_message(1, 1.0))
    assert error["code"] == "too_large"
    await communicator.disconnect()
    settings.CAPTURE_MAX_FRAME_BYTES = 1024 * 1024
    settings.CAPTURE_MAX_FRAME_SIDE = 200
    communicator = await open_socket(watcher.token)
    error = await exchange(communicator, frame_message(2, 1.0, empty_jpeg()))
    assert error["code"] == "too_large"
    await communicator.disconnect()
    assert await database_sync_to_async(samples_of)(watcher) == []


async def test_frames_faster_than_the_allowed_rate_are_refused(watcher):
    communicator = await open_socket(watcher.token)
    replies = [await exchange(communicator, frame_message(seq, seq * 0.01, empty_jpeg())) for seq in range(40)]
    codes = [reply.get("code") for reply in replies]
    assert "rate_limited" in codes
    stored = await database_sync_to_async(samples_of)(watcher)
    assert len(stored) == codes.count(None)
    await communicator.disconnect()


async def test_reconnecting_does_not_refill_the_rate_limit(watcher, settings):
    # A rate so low that no token comes back while the test runs: a burst of 8, then one per 100 s.
    settings.CAPTURE_RATE_FACTOR = 0.01
    first = await open_socket(watcher.token)
    codes = [(await exchange(first, frame_message(seq, seq * 0.5, empty_jpeg()))).get("code") for seq in range(10)]
    assert codes == [None] * 8 + ["rate_limited"] * 2
    await first.disconnect()
    second = await open_socket(watcher.token)
    reply = await exchange(second, frame_message(100, 5.0, empty_jpeg()))
    assert reply["type"] == "error" and reply["code"] == "rate_limited"
    await second.disconnect()


async def test_an_unknown_token_is_closed_with_4404(db):
    communicator = WebsocketCommunicator(application, "/ws/capture/no-such-token/")
    await communicator.connect()
    assert await closed_with(communicator) == 4404


@pytest.mark.parametrize("state", [State.INVITED, State.BEFORE_DONE, State.WATCHED, State.WITHDRAWN, State.COMPLETED])
async def test_a_participant_who_is_not_watching_is_closed_with_4403(db, state):
    participant = await database_sync_to_async(ParticipantFactory)(state=state)
    communicator = WebsocketCommunicator(application, f"/ws/capture/{participant.token}/")
    await communicator.connect()
    assert await closed_with(communicator) == 4403


async def test_a_closed_screening_is_closed_with_4403(db):
    participant = await database_sync_to_async(ParticipantFactory)(
        state=State.WATCHING, screening=await database_sync_to_async(ScreeningFactory)(status="closed")
    )
    communicator = WebsocketCommunicator(application, f"/ws/capture/{participant.token}/")
    await communicator.connect()
    assert await closed_with(communicator) == 4403


async def test_a_newer_connection_replaces_the_older_which_is_closed_with_4409(watcher):
    older = await open_socket(watcher.token)
    newer = await open_socket(watcher.token)
    assert await closed_with(older) == 4409
    ack = await exchange(newer, frame_message(1, 1.0, empty_jpeg()))
    assert ack["type"] == "ack"
    await newer.disconnect()


async def test_an_older_connection_is_replaced_even_after_the_channel_layer_forgot_its_group(
    watcher, monkeypatch, settings
):
    monkeypatch.setattr(consumers.CaptureConsumer, "rejoin_seconds", 0.05)
    # The in-memory layer, whose memberships the test can take away (tests/deploy/ restarts a real Redis).
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    older = await open_socket(watcher.token)
    layer = get_channel_layer()
    group = consumers.participant_group(watcher.pk)
    # What a Redis restarted empty does to every group membership, while the socket stays open.
    layer.groups.clear()
    async with asyncio.timeout(10):
        while group not in layer.groups:
            await asyncio.sleep(0.01)
    newer = await open_socket(watcher.token)
    assert await closed_with(older) == 4409
    await newer.disconnect()


async def test_end_marks_watching_finished_and_later_frames_are_wrong_phase(watcher):
    communicator = await open_socket(watcher.token)
    assert await exchange(communicator, {"type": "end", "media_time": 30.0}) == {"type": "ended"}
    error = await exchange(communicator, frame_message(9, 5.0, empty_jpeg()))
    assert error["code"] == "wrong_phase"
    participant = await database_sync_to_async(Participant.objects.get)(pk=watcher.pk)
    assert participant.state == State.WATCHED
    await communicator.disconnect()


BAD_ENDS = [
    # Playback more than END_TOLERANCE_SECONDS before the 30 s stimulus's end: not finished, as over HTTP.
    ({"type": "end", "media_time": 0}, "not_finished"),
    ({"type": "end", "media_time": 27.9}, "not_finished"),
    ({"type": "end"}, "bad_message"),
    ({"type": "end", "media_time": None}, "bad_message"),
    ({"type": "end", "media_time": "soon"}, "bad_message"),
    ({"type": "end", "media_time": True}, "bad_message"),
    ({"type": "end", "media_time": -1}, "bad_message"),
    ({"type": "end", "media_time": 31.5}, "bad_message"),
    ({"type": "end", "media_time": 10**400}, "bad_message"),
    ({"type": "end", "media_time": "nan"}, "bad_message"),
    ('{"type": "end", "media_time": ' + "3" * 5000 + "}", "bad_message"),
]


@pytest.mark.parametrize(("message", "code"), BAD_ENDS)
async def test_a_bad_or_early_end_is_refused_and_watching_goes_on(watcher, message, code):
    communicator = await open_socket(watcher.token)
    error = await exchange(communicator, message)
    assert error == {"type": "error", "seq": None, "code": code, "detail": error["detail"]} and error["detail"]
    participant = await database_sync_to_async(Participant.objects.get)(pk=watcher.pk)
    assert participant.state == State.WATCHING and participant.watch_position == watcher.watch_position
    ack = await exchange(communicator, frame_message(7, 4.0, empty_jpeg()))
    assert ack["type"] == "ack" and ack["seq"] == 7
    assert await exchange(communicator, {"type": "end", "media_time": 29.0}) == {"type": "ended"}
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("position", "finished"), [(0.0, False), (27.9, False), (28.0, True), (30.0, True), (31.0, True)]
)
async def test_the_end_message_and_the_http_endpoint_agree_on_when_playback_finished(db, position, finished):
    from django.test import AsyncClient
    from django.urls import reverse

    by_socket, by_http = await database_sync_to_async(
        lambda: [
            ParticipantFactory(screening=ScreeningFactory(stimulus_duration=30.0), state=State.WATCHING) for _ in "ab"
        ]
    )()
    communicator = await open_socket(by_socket.token)
    reply = await exchange(communicator, {"type": "end", "media_time": position})
    await communicator.disconnect()
    response = await AsyncClient().post(
        reverse("participant-watch-finished", args=[by_http.token]), {"position": position}, "application/json"
    )
    assert (reply == {"type": "ended"}) is finished
    assert (response.status_code == 200) is finished
    if not finished:
        assert reply["code"] == response.json()["error"] == "not_finished"


@pytest.mark.parametrize("body", ['{"position": ' + "3" * 5000 + "}", '{"position": ' + "3" * 400 + "}"])
async def test_the_http_endpoint_refuses_a_position_too_long_for_a_number(watcher, body):
    from django.test import AsyncClient
    from django.urls import reverse

    response = await AsyncClient().post(
        reverse("participant-watch-finished", args=[watcher.token]), body, "application/json"
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_position"
    participant = await database_sync_to_async(Participant.objects.get)(pk=watcher.pk)
    assert participant.state == State.WATCHING


@pytest.mark.parametrize("leave", ["withdraw", "erase", "close"])
async def test_a_frame_arriving_just_after_the_participant_left_is_refused_and_not_stored(watcher, leave):
    from screenings import services

    communicator = await open_socket(watcher.token)
    assert (await exchange(communicator, frame_message(1, 1.0)))["type"] == "ack"
    # Within the consumer's phase re-check interval, its copy of the participant still says "watching":
    # the store itself must refuse, or the frame would outlive the erasure.
    if leave == "withdraw":
        await database_sync_to_async(services.participant_withdraw)(participant=watcher)
    elif leave == "erase":
        await database_sync_to_async(services.participant_erase)(participant=watcher)
    else:
        await database_sync_to_async(services.screening_close)(screening=watcher.screening)
    error = await exchange(communicator, frame_message(2, 2.0))
    assert error["type"] == "error" and error["code"] == "wrong_phase" and error["seq"] == 2
    stored = await database_sync_to_async(samples_of)(watcher)
    assert [sample.media_time for sample in stored] == ([1.0] if leave == "close" else [])
    await communicator.disconnect()


async def test_an_erased_participant_cannot_connect(db):
    from screenings import services

    participant = await database_sync_to_async(ParticipantFactory)(state=State.WATCHING)
    await database_sync_to_async(services.participant_erase)(participant=participant)
    communicator = WebsocketCommunicator(application, f"/ws/capture/{participant.token}/")
    await communicator.connect()
    assert await closed_with(communicator) == 4403


async def test_a_kept_frame_is_saved_with_its_sample(db):
    screening = await database_sync_to_async(ScreeningFactory)(keep_raw_frames=True)
    participant = await database_sync_to_async(ParticipantFactory)(screening=screening, state=State.WATCHING)
    communicator = await open_socket(participant.token)
    await exchange(communicator, frame_message(1, 1.0, empty_jpeg()))
    [sample] = await database_sync_to_async(samples_of)(participant)
    assert sample.frame.name and sample.frame.read() == empty_jpeg()
    await communicator.disconnect()


async def test_frames_are_discarded_when_the_screening_does_not_keep_them(watcher):
    communicator = await open_socket(watcher.token)
    await exchange(communicator, frame_message(1, 1.0, empty_jpeg()))
    [sample] = await database_sync_to_async(samples_of)(watcher)
    assert not sample.frame
    await communicator.disconnect()


async def test_kept_frames_are_erased_with_the_participant(db):
    from django.core.files.storage import default_storage

    from screenings import services

    screening = await database_sync_to_async(ScreeningFactory)(keep_raw_frames=True)
    participant = await database_sync_to_async(ParticipantFactory)(screening=screening, state=State.WATCHING)
    communicator = await open_socket(participant.token)
    for seq in range(3):
        assert (await exchange(communicator, frame_message(seq, float(seq), empty_jpeg())))["type"] == "ack"
    names = [sample.frame.name for sample in await database_sync_to_async(samples_of)(participant)]
    assert len(names) == 3 and all(default_storage.exists(name) for name in names)
    await database_sync_to_async(services.participant_withdraw)(participant=participant)
    assert not any(default_storage.exists(name) for name in names)
    reply = await exchange(communicator, frame_message(9, 9.0, empty_jpeg()))
    assert reply["code"] == "wrong_phase"
    assert await database_sync_to_async(samples_of)(participant) == []
    await communicator.disconnect()


async def test_after_a_frame_without_a_face_the_search_starts_where_the_face_was(watcher, monkeypatch):
    searched_near = []
    locate = serving.locate_largest_face

    def recording(image, *, previous=None, **options):  # type: ignore[no-untyped-def]
        searched_near.append(previous)
        return locate(image, previous=previous, **options)

    monkeypatch.setattr(serving, "locate_largest_face", recording)
    communicator = await open_socket(watcher.token)
    first = await exchange(communicator, frame_message(1, 1.0))
    assert first["face"] is True
    assert (await exchange(communicator, frame_message(2, 2.0, empty_jpeg())))["face"] is False
    assert (await exchange(communicator, frame_message(3, 3.0)))["face"] is True
    first_box = searched_near[1]
    assert searched_near[0] is None and first_box is not None
    assert searched_near[2] == first_box  # the empty frame did not forget where the face was
    await communicator.disconnect()
