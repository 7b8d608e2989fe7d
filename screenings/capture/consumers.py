"""Websocket consumers: participants' frame capture and the organizers' live view (docs/protocol.md)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from inference import Box, InvalidImage, read_emotion
from screenings import selectors, services
from screenings.capture import protocol as capture
from screenings.capture.protocol import CLOSE_NOT_ALLOWED, CLOSE_REPLACED, CLOSE_UNKNOWN
from screenings.capture.rate import frame_allowed
from screenings.models import Participant

logger = logging.getLogger(__name__)

# How long a phase check stays valid; a withdrawal or closing takes effect within this time.
PHASE_RECHECK_SECONDS = 2.0


def participant_group(participant_id: int) -> str:
    return f"capture-participant-{participant_id}"


def live_group(screening_id: int) -> str:
    return f"live-screening-{screening_id}"


@database_sync_to_async
def _participant(token: str) -> Participant | None:
    return selectors.participant_by_token(token=token)


@database_sync_to_async
def _refresh(participant: Participant) -> Participant:
    return Participant.objects.select_related("screening").get(pk=participant.pk)


async def _frame_allowed(participant: Participant, limits: capture.CaptureLimits) -> bool:
    # In a thread of its own, not the one the database calls queue in: with the scale-out profile the
    # bucket is in Redis.
    return await sync_to_async(frame_allowed, thread_sensitive=False)(participant, limits)


class CaptureConsumer(AsyncWebsocketConsumer):
    """One participant's frames: classify each, store it as a sample, acknowledge it in order."""

    participant: Participant | None = None

    async def connect(self) -> None:
        # Accept first: a close code only reaches the browser on an open socket.
        await self.accept()
        participant = await _participant(self.scope["url_route"]["kwargs"]["token"])
        if participant is None:
            await self.close(code=CLOSE_UNKNOWN)
            return
        if not selectors.capture_allowed(participant):
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.participant = participant
        self.limits = capture.CaptureLimits.from_settings()
        self.phase_checked = time.monotonic()
        self.last_face: Box | None = None
        group = participant_group(participant.pk)
        await self.channel_layer.group_send(group, {"type": "capture.replaced", "channel": self.channel_name})
        await self.channel_layer.group_add(group, self.channel_name)
        await database_sync_to_async(services.capture_connection_record)(
            participant=participant, channel_name=self.channel_name
        )
        await self._tell_organizers({"event": "connected"})

    async def disconnect(self, code: int) -> None:
        if self.participant is None:
            return
        await self.channel_layer.group_discard(participant_group(self.participant.pk), self.channel_name)
        await database_sync_to_async(services.capture_disconnection_record)(
            participant=self.participant, channel_name=self.channel_name
        )
        await self._tell_organizers({"event": "disconnected"})

    async def capture_replaced(self, event: dict[str, Any]) -> None:
        if event["channel"] != self.channel_name:
            participant, self.participant = self.participant, None
            await self.close(code=CLOSE_REPLACED)
            if participant is not None:
                await self.channel_layer.group_discard(participant_group(participant.pk), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.participant is None:
            return
        try:
            reply = await self._handle(text_data, bytes_data)
        except capture.FrameError as error:
            reply = error.as_message()
        await self.send(text_data=json.dumps(reply))

    async def _handle(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
        assert self.participant is not None
        duration = self.participant.screening.stimulus_duration
        if text_data is None:
            # A binary message is a frame (docs/protocol.md): no base64, no UTF-8 check.
            frame = capture.parse_binary_frame(bytes_data or b"", duration=duration, limits=self.limits)
            return await self._frame(frame)
        message = capture.parse_text_message(text_data, limits=self.limits)
        if message["type"] == "end":
            return await self._end(message)
        return await self._frame(capture.parse_frame_message(message, duration=duration, limits=self.limits))

    async def _check_phase(self, seq: int | None) -> None:
        assert self.participant is not None
        if time.monotonic() - self.phase_checked > PHASE_RECHECK_SECONDS:
            self.participant = await _refresh(self.participant)
            self.phase_checked = time.monotonic()
        if not selectors.capture_allowed(self.participant):
            raise capture.FrameError("wrong_phase", "this participant is not watching now", seq)

    async def _frame(self, frame: capture.Frame) -> dict[str, Any]:
        assert self.participant is not None
        await self._check_phase(frame.seq)
        if not await _frame_allowed(self.participant, self.limits):
            raise capture.FrameError(
                "rate_limited", "frames arrive faster than the sampling interval allows", frame.seq
            )
        try:
            reading = await read_emotion(frame.image, max_side=self.limits.max_side, previous=self.last_face)
        except InvalidImage as error:
            raise capture.image_error(error, frame.seq) from None
        self.last_face = reading.face.box if reading.face else None
        sample, stored_now = await database_sync_to_async(capture.sample_from_reading)(
            participant=self.participant, frame=frame, reading=reading
        )
        ack = capture.ack_message(frame.seq, sample)
        if stored_now:
            # A frame sent again is a sample the live view has counted already.
            await self._tell_organizers({**ack, "event": "sample"})
        return ack

    async def _end(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.participant is not None
        await self._check_phase(None)
        # The HTTP endpoint's rule: playback must have reached the stimulus's end.
        position = capture.parse_end_message(message, duration=self.participant.screening.stimulus_duration)
        try:
            finished = await database_sync_to_async(services.watching_finish)(
                participant=self.participant, position=position
            )
        except services.StudyError as error:
            raise capture.FrameError("wrong_phase", str(error)) from None
        self.participant = finished
        await self._tell_organizers({"event": "ended"})
        return {"type": "ended"}

    async def _tell_organizers(self, payload: dict[str, Any]) -> None:
        participant = self.participant
        if participant is None:
            return
        await self.channel_layer.group_send(
            live_group(participant.screening_id),
            {**payload, "participant": participant.pk, "label": str(participant), "type": "live.update"},
        )


class LiveViewConsumer(AsyncWebsocketConsumer):
    """Pushes an organizer's screening's capture events to the live page; others are refused with 4404."""

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        screening_id = int(self.scope["url_route"]["kwargs"]["screening_id"])
        allowed = await database_sync_to_async(
            lambda: user is not None and selectors.screenings_for_organizer(user=user).filter(pk=screening_id).exists()
        )()
        if not allowed:
            await self.close(code=CLOSE_UNKNOWN)
            return
        self.group = live_group(screening_id)
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The live view only listens."""

    async def live_update(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({key: value for key, value in event.items() if key != "type"}))
