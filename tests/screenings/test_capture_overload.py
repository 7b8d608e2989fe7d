"""Overload: past the process's limit on frames in flight a frame is answered ``busy``, never queued without end.

The reader is slowed on purpose: each frame's reading waits at a gate the test opens, so which
frames are in flight is known without timing anything.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import OperationalError

from inference import Reading, read_emotion
from screenings import services
from screenings.capture import admission, consumers, writer
from screenings.capture.routing import websocket_urlpatterns
from screenings.models import EmotionSample, Participant
from tests.factories import ParticipantFactory, ScreeningFactory
from tests.screenings.capture_helpers import binary_frame, empty_jpeg

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
application = URLRouter(websocket_urlpatterns)


class SlowReader:
    """``read_emotion`` that waits at a gate first; ``reading`` counts the frames waiting there.

    With ``instant`` set, the frames past the gate are read as no face at once, so that all of
    them are ready at the same moment.
    """

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.reading = 0
        self.instant = False

    async def __call__(self, image: bytes, **options):  # type: ignore[no-untyped-def]
        self.reading += 1
        await self.gate.wait()
        if self.instant:
            return Reading(None, "test/1v")
        return await read_emotion(image, **options)

    async def until_reading(self, count: int) -> None:
        async with asyncio.timeout(30):
            while self.reading < count:
                await asyncio.sleep(0.01)


@pytest.fixture
def slow_reader(monkeypatch, settings):  # type: ignore[no-untyped-def]
    settings.CAPTURE_MAX_FRAMES_IN_FLIGHT = 2
    settings.CAPTURE_BUSY_RETRY_SECONDS = 3
    settings.CAPTURE_RATE_FACTOR = 100
    # Frames of earlier tests whose event loops closed before they were answered still count in
    # this process: start from none in flight.
    monkeypatch.setattr(admission, "_in_flight", 0)
    reader = SlowReader()
    monkeypatch.setattr(consumers, "read_emotion", reader)
    return reader


@pytest.fixture
def watchers(db):  # type: ignore[no-untyped-def]
    screening = ScreeningFactory(stimulus_duration=30.0)
    return [ParticipantFactory(screening=screening, state=Participant.State.WATCHING) for _ in range(3)]


async def open_socket(participant: Participant) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/capture/{participant.token}/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def reply(communicator: WebsocketCommunicator) -> dict:
    output = await communicator.receive_output(timeout=30)
    assert output["type"] == "websocket.send", f"the socket was closed: {output}"
    return json.loads(output["text"])


def stored_media_times(participant: Participant) -> list[float]:
    return list(EmotionSample.objects.filter(participant=participant).values_list("media_time", flat=True))


async def test_a_frame_past_the_limit_is_busy_at_once_and_is_stored_once_sent_again(slow_reader, watchers):
    sockets = [await open_socket(watcher) for watcher in watchers]
    await sockets[0].send_to(bytes_data=binary_frame(0, 1.0, empty_jpeg()))
    await sockets[1].send_to(bytes_data=binary_frame(0, 1.0, empty_jpeg()))
    await slow_reader.until_reading(2)
    await sockets[2].send_to(bytes_data=binary_frame(0, 1.0, empty_jpeg()))
    # Answered while the two frames before it are still being read: it did not wait behind them.
    busy = await reply(sockets[2])
    assert busy["type"] == "error" and busy["code"] == "busy" and busy["seq"] == 0 and busy["retry_after"] == 3
    assert await database_sync_to_async(stored_media_times)(watchers[2]) == []
    slow_reader.gate.set()
    for communicator in sockets[:2]:
        assert (await reply(communicator))["type"] == "ack"
    await sockets[2].send_to(bytes_data=binary_frame(1, 1.0, empty_jpeg()))
    assert (await reply(sockets[2]))["type"] == "ack"
    for watcher in watchers:
        assert await database_sync_to_async(stored_media_times)(watcher) == [1.0]
    for communicator in sockets:
        await communicator.disconnect()


async def test_one_participants_answers_keep_the_order_of_the_frames_when_some_are_busy(slow_reader, watchers):
    communicator = await open_socket(watchers[0])
    for seq in range(4):
        await communicator.send_to(bytes_data=binary_frame(seq, float(seq), empty_jpeg()))
    await slow_reader.until_reading(2)
    slow_reader.gate.set()
    replies = [await reply(communicator) for _ in range(4)]
    assert [answer["seq"] for answer in replies] == [0, 1, 2, 3]
    assert [answer["type"] for answer in replies] == ["ack", "ack", "error", "error"]
    assert {answer["code"] for answer in replies[2:]} == {"busy"}
    for seq in (2, 3):
        await communicator.send_to(bytes_data=binary_frame(seq + 10, float(seq), empty_jpeg()))
        assert (await reply(communicator))["type"] == "ack"
    assert sorted(await database_sync_to_async(stored_media_times)(watchers[0])) == [0.0, 1.0, 2.0, 3.0]
    await communicator.disconnect()


async def test_frames_read_together_are_stored_in_one_transaction(slow_reader, watchers, settings, monkeypatch):
    settings.CAPTURE_MAX_FRAMES_IN_FLIGHT = 10
    slow_reader.instant = True
    batches = []
    store = services.captured_samples_record

    def counted(*, readings):  # type: ignore[no-untyped-def]
        batches.append(len(readings))
        return store(readings=readings)

    monkeypatch.setattr(writer.services, "captured_samples_record", counted)
    sockets = [await open_socket(watcher) for watcher in watchers]
    for communicator in sockets:
        await communicator.send_to(bytes_data=binary_frame(0, 2.0, empty_jpeg()))
    await slow_reader.until_reading(3)
    slow_reader.gate.set()
    for communicator in sockets:
        assert (await reply(communicator))["type"] == "ack"
    assert batches == [3]
    for communicator in sockets:
        await communicator.disconnect()


async def test_a_frame_the_database_could_not_store_is_busy_and_not_acknowledged(watchers, monkeypatch):
    def unavailable(*, readings):  # type: ignore[no-untyped-def]
        raise OperationalError("the database refused the connection")

    monkeypatch.setattr(writer.services, "captured_samples_record", unavailable)
    communicator = await open_socket(watchers[0])
    await communicator.send_to(bytes_data=binary_frame(0, 1.0, empty_jpeg()))
    answer = await reply(communicator)
    assert answer["type"] == "error" and answer["code"] == "busy" and answer["seq"] == 0
    assert await database_sync_to_async(stored_media_times)(watchers[0]) == []
    await communicator.disconnect()
