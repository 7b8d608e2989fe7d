"""Websocket consumers: participants' frame capture and the organizers' live view (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from inference import FaceTrack, InvalidImage, read_emotion
from screenings import selectors, services
from screenings.capture import protocol as capture
from screenings.capture.admission import busy_error, frame_in_flight
from screenings.capture.database import in_database_thread
from screenings.capture.live import live_broadcaster, live_group
from screenings.capture.protocol import CLOSE_NOT_ALLOWED, CLOSE_REPLACED, CLOSE_SERVER_FAULT, CLOSE_UNKNOWN
from screenings.capture.rate import frame_allowed
from screenings.capture.writer import sample_writer
from screenings.models import EmotionSample, Participant

logger = logging.getLogger(__name__)

# How long a phase check stays valid; a withdrawal or closing takes effect within this time.
PHASE_RECHECK_SECONDS = 2.0
# Channel-layer calls one process makes at once for opening and closing sockets. The Redis layer's
# connection pool holds 100 connections and refuses a call past them: a crowd connecting together
# had sockets closed with 1011. Past this many, a call waits its turn.
CHANNEL_LAYER_CALLS = 32
_channel_layer_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _channel_layer_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _channel_layer_slots.get(loop)
    if slot is None:
        slot = _channel_layer_slots[loop] = asyncio.Semaphore(CHANNEL_LAYER_CALLS)
    return slot


# How often the live view joins its group again: a live view that lost its membership (Redis restarted
# empty) hears its screening again within this time.
LIVE_REJOIN_SECONDS = 3.0
# The same for a capture socket's participant group, where only a second connection of the participant
# is announced: rarer, and a crowd's sockets should not load the channel layer.
CAPTURE_REJOIN_SECONDS = 10.0


class StaysInGroup(AsyncWebsocketConsumer):
    """A consumer that joins its group (``member_of``) again every ``rejoin_seconds`` while it runs.

    Joining again changes nothing while the membership holds. Memberships live in the channel
    layer: a Redis restarted empty forgets them while the socket stays open (the consumer's
    connection to Redis comes back), and the consumer would hear nothing more.
    """

    rejoin_seconds = LIVE_REJOIN_SECONDS
    member_of: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # For as long as the consumer runs, however it ends (a crash included).
        staying = asyncio.ensure_future(self._stay_in_group())
        try:
            await super().__call__(scope, receive, send)
        finally:
            staying.cancel()

    async def _stay_in_group(self) -> None:
        while True:
            await asyncio.sleep(self.rejoin_seconds)
            if self.member_of is not None:
                try:
                    async with _channel_layer_slot():
                        await self.channel_layer.group_add(self.member_of, self.channel_name)
                except Exception:  # Redis is down: tried again after the next wait
                    logger.warning("%s could not join its group %s again", self.channel_name, self.member_of,
                                   exc_info=True)  # fmt: skip


def participant_group(participant_id: int) -> str:
    return f"capture-participant-{participant_id}"


def _organizes(user: Any, screening_id: int) -> bool:
    return selectors.screenings_for_organizer(user=user).filter(pk=screening_id).exists()


def _refreshed(participant: Participant) -> Participant:
    return Participant.objects.select_related("screening").get(pk=participant.pk)


async def _frame_allowed(participant: Participant, limits: capture.CaptureLimits) -> bool:
    # In a thread of its own, not the one the database calls queue in: with the scale-out profile the
    # bucket is in Redis.
    return await sync_to_async(frame_allowed, thread_sensitive=False)(participant, limits)


class CaptureConsumer(StaysInGroup):
    """One participant's frames: classify each, store it as a sample, acknowledge it in order.

    Each message is answered by a task of its own, so the next message is taken up at once: a
    frame past the process's limit on frames in flight is answered ``busy`` straight away rather
    than waiting, unread, in the server's queue. The answers still go out in the order the
    messages came (each task sends after the one before it).
    """

    participant: Participant | None = None
    _last_answer: asyncio.Task[None] | None = None
    rejoin_seconds = CAPTURE_REJOIN_SECONDS

    async def connect(self) -> None:
        # When this connection opened: of two connections of one participant, the later one stays.
        self.connected_at = time.time_ns()
        # Accept first: a close code only reaches the browser on an open socket.
        await self.accept()
        token = self.scope["url_route"]["kwargs"]["token"]
        participant = await in_database_thread(selectors.participant_by_token, token=token)
        if participant is None:
            await self.close(code=CLOSE_UNKNOWN)
            return
        if not selectors.capture_allowed(participant):
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.participant = participant
        self.limits = capture.CaptureLimits.from_settings()
        self.phase_checked = time.monotonic()
        self.face_track = FaceTrack()
        group = participant_group(participant.pk)
        async with _channel_layer_slot():
            # Join first, then announce: whichever of two connections joins last, each hears of the
            # other (see capture_replaced), so the older is closed even when both open at once.
            await self.channel_layer.group_add(group, self.channel_name)
            await self.channel_layer.group_send(group, self._announcement())
        self.member_of = group
        await in_database_thread(
            services.capture_connection_record, participant=participant, channel_name=self.channel_name
        )
        self._tell_organizers({"event": "connected"})

    async def disconnect(self, code: int) -> None:
        self.member_of = None
        if self.participant is None:
            return
        async with _channel_layer_slot():
            await self.channel_layer.group_discard(participant_group(self.participant.pk), self.channel_name)
        await in_database_thread(
            services.capture_disconnection_record, participant=self.participant, channel_name=self.channel_name
        )
        self._tell_organizers({"event": "disconnected"})

    def _announcement(self) -> dict[str, Any]:
        return {"type": "capture.replaced", "channel": self.channel_name, "connected_at": self.connected_at}

    async def capture_replaced(self, event: dict[str, Any]) -> None:
        """Another connection of this participant announced itself: the older of the two is closed.

        An older one is told directly (it may have joined the group after this one announced).
        """
        if event["channel"] == self.channel_name:
            return
        theirs = (int(event.get("connected_at", 0)), event["channel"])
        if theirs < (self.connected_at, self.channel_name):
            async with _channel_layer_slot():
                await self.channel_layer.send(event["channel"], self._announcement())
            return
        if self.participant is None:
            return  # already replaced
        participant, self.participant, self.member_of = self.participant, None, None
        await self.close(code=CLOSE_REPLACED)
        async with _channel_layer_slot():
            await self.channel_layer.group_discard(participant_group(participant.pk), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.participant is None:
            return
        previous = self._last_answer
        self._last_answer = asyncio.ensure_future(self._answer(text_data, bytes_data, previous))

    async def _answer(
        self, text_data: str | None, bytes_data: bytes | None, previous: asyncio.Task[None] | None
    ) -> None:
        try:
            reply = await self._handle(text_data, bytes_data, previous)
        except capture.FrameError as error:
            reply = error.as_message()
        except Exception:
            # A fault of the server's, not the frame's: the socket is closed and the page reconnects and
            # sends its unacknowledged frames again. (A close with 1011 raised instead, so this answer
            # and every one awaiting it ended in silence, on a socket left open.)
            logger.exception("capture failed for participant %s", self.participant and self.participant.pk)
            if previous is not None:
                await previous
            await self.close(code=CLOSE_SERVER_FAULT)
            return
        if previous is not None:
            await previous
        if self.participant is not None:
            await self.send(text_data=json.dumps(reply))

    async def _handle(
        self, text_data: str | None, bytes_data: bytes | None, previous: asyncio.Task[None] | None
    ) -> dict[str, Any]:
        assert self.participant is not None
        duration = self.participant.screening.stimulus_duration
        if text_data is None:
            # A binary message is a frame (docs/protocol.md): no base64, no UTF-8 check.
            frame = capture.parse_binary_frame(bytes_data or b"", duration=duration, limits=self.limits)
            return await self._frame(frame)
        message = capture.parse_text_message(text_data, limits=self.limits)
        if message["type"] == "end":
            # Watching ends after every frame sent before the end was answered.
            if previous is not None:
                await previous
            return await self._end(message)
        return await self._frame(capture.parse_frame_message(message, duration=duration, limits=self.limits))

    async def _check_phase(self, seq: int | None) -> None:
        assert self.participant is not None
        if time.monotonic() - self.phase_checked > PHASE_RECHECK_SECONDS:
            self.phase_checked = time.monotonic()
            try:
                self.participant = await in_database_thread(_refreshed, self.participant)
            except DatabaseError:
                # The database cannot be reached: the frame is refused as one it could not store would be.
                logger.warning("could not check participant %s's phase", self.participant.pk, exc_info=True)
                raise busy_error(seq) from None
        if not selectors.capture_allowed(self.participant):
            raise capture.wrong_phase(seq)

    async def _frame(self, frame: capture.Frame) -> dict[str, Any]:
        with frame_in_flight(frame.seq):
            stored = await self._read_and_store(frame)
        if stored is None:
            raise capture.wrong_phase(frame.seq)
        sample, created = stored
        ack = capture.ack_message(frame.seq, sample)
        if created:
            # A frame sent again is acknowledged again, but the live view counts stored samples.
            self._tell_organizers({**ack, "event": "sample"})
        return ack

    async def _read_and_store(self, frame: capture.Frame) -> tuple[EmotionSample, bool] | None:
        assert self.participant is not None
        await self._check_phase(frame.seq)
        if not await _frame_allowed(self.participant, self.limits):
            raise capture.FrameError(
                "rate_limited", "frames arrive faster than the sampling interval allows", frame.seq
            )
        try:
            reading = await read_emotion(frame.image, max_side=self.limits.max_side, previous=self.face_track.box)
        except InvalidImage as error:
            raise capture.image_error(error, frame.seq) from None
        self.face_track.update(reading.face.box if reading.face else None)
        try:
            return await sample_writer().store(
                capture.captured_reading(participant=self.participant, frame=frame, reading=reading)
            )
        except DatabaseError:
            # Nothing was stored (the transaction rolled back): the frame may be sent again.
            logger.warning("could not store a frame of participant %s", self.participant.pk, exc_info=True)
            raise busy_error(frame.seq) from None

    async def _end(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.participant is not None
        await self._check_phase(None)
        # The HTTP endpoint's rule: playback must have reached the stimulus's end.
        position = capture.parse_end_message(message, duration=self.participant.screening.stimulus_duration)
        try:
            finished = await in_database_thread(
                services.watching_finish, participant=self.participant, position=position
            )
        except services.StudyError as error:
            raise capture.FrameError("wrong_phase", str(error)) from None
        self.participant = finished
        self._tell_organizers({"event": "ended"})
        return {"type": "ended"}

    def _tell_organizers(self, payload: dict[str, Any]) -> None:
        participant = self.participant
        if participant is None:
            return
        event = {**payload, "participant": participant.pk, "label": str(participant)}
        live_broadcaster(self.channel_layer).tell(participant.screening_id, event)


class LiveViewConsumer(StaysInGroup):
    """Pushes an organizer's screening's capture events to the live page; others are refused with 4404."""

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        screening_id = int(self.scope["url_route"]["kwargs"]["screening_id"])
        if user is None or not await in_database_thread(_organizes, user, screening_id):
            await self.close(code=CLOSE_UNKNOWN)
            return
        group = live_group(screening_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.member_of = group

    async def disconnect(self, code: int) -> None:
        group, self.member_of = self.member_of, None
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The live view only listens."""

    async def live_events(self, event: dict[str, Any]) -> None:
        """A process's capture events since its last message (``screenings.capture.live``), one by one."""
        for payload in event["events"]:
            await self.send(text_data=json.dumps(payload))
