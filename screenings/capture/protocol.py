"""The frame contract shared by the websocket and the HTTP fallback (docs/protocol.md).

Parsing and checking a frame is pure; storing it goes through ``services.sample_record``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from inference import InvalidImage, Reading
from screenings import services
from screenings.models import EmotionSample, Participant

DATA_URL_PREFIX = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,")
# How far past the stimulus's known end a media time may lie (players report the end a little late).
MEDIA_TIME_TOLERANCE = 1.0
# The longest header line of a binary frame; a real one is about 50 bytes.
BINARY_HEADER_BYTES = 1024
# How close to the stimulus's end a player must be for playback to count as finished, in seconds.
END_TOLERANCE_SECONDS = 2.0
# The largest seq: the largest whole number a browser's JavaScript holds exactly (2**53 - 1).
MAX_SEQ = 2**53 - 1

# Close codes after which a client must not reconnect (docs/protocol.md); the pages get them from here.
CLOSE_UNKNOWN = 4404
CLOSE_NOT_ALLOWED = 4403
CLOSE_REPLACED = 4409
# The server failed on its own side; reconnect, as after any other close. Not 1011: an application
# may close only with 1000 or 3000-4999 (Daphne's websocket library refuses anything else, raising
# instead of closing), and only Daphne itself sends 1011, when a consumer crashes.
CLOSE_SERVER_FAULT = 4500


class FrameError(Exception):
    """A frame refused with one of the protocol's error codes; ``retry_after``: seconds before sending it again."""

    def __init__(self, code: str, detail: str, seq: int | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.seq = seq
        self.retry_after = retry_after

    def as_message(self) -> dict[str, Any]:
        message = {"type": "error", "seq": self.seq, "code": self.code, "detail": self.detail}
        if self.retry_after is not None:
            message["retry_after"] = self.retry_after
        return message


@dataclass(frozen=True)
class Frame:
    seq: int
    media_time: float
    image: bytes


@dataclass(frozen=True)
class CaptureLimits:
    frame_bytes: int
    max_side: int
    message_chars: int
    rate_factor: float

    @classmethod
    def from_settings(cls) -> CaptureLimits:
        return cls(
            frame_bytes=settings.CAPTURE_MAX_FRAME_BYTES,
            max_side=settings.CAPTURE_MAX_FRAME_SIDE,
            # Base64 makes bytes a third larger; allow some room for the other fields.
            message_chars=settings.CAPTURE_MAX_FRAME_BYTES * 4 // 3 + 4096,
            rate_factor=settings.CAPTURE_RATE_FACTOR,
        )

    @property
    def server_message_bytes(self) -> int:
        """The websocket server's message limit (Daphne's), set from these limits when it starts.

        Twice the largest message a frame may take, text or binary: a message somewhat over the
        protocol's limits still reaches the consumer and gets a ``too_large`` reply instead of a
        dropped connection; a longer one is not read, and the server drops the connection (1009).
        ``manage.py serve`` starts Daphne with it.
        """
        return 2 * max(self.message_chars, self.frame_bytes + BINARY_HEADER_BYTES)


def image_error(error: InvalidImage, seq: int | None) -> FrameError:
    """The protocol's error for an image that could not be read."""
    return FrameError("too_large" if error.too_large else "bad_image", error.reason, seq)


def parse_seq(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_SEQ:
        raise FrameError("bad_message", f"seq must be a whole number from 0 to {MAX_SEQ}")
    return raw


def parse_media_time(raw: Any, *, duration: float | None, seq: int | None, field: str = "media_time") -> float:
    """Seconds into the stimulus (a number or its text), at most ``MEDIA_TIME_TOLERANCE`` past its end."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise FrameError("bad_message", f"{field} must be a number of seconds", seq)
    try:
        seconds = float(raw)
    except (ValueError, OverflowError):
        # OverflowError: a whole number too large for a float (JSON allows 400 digits).
        raise FrameError("bad_message", f"{field} must be a number of seconds", seq) from None
    if not math.isfinite(seconds):
        raise FrameError("bad_message", f"{field} must be a number of seconds", seq)
    if seconds < 0 or (duration is not None and seconds > duration + MEDIA_TIME_TOLERANCE):
        raise FrameError("bad_message", f"{field} lies outside the stimulus", seq)
    return seconds


def playback_reached_end(position: float, *, duration: float | None) -> bool:
    """Whether a player at ``position`` has played the stimulus to its end (always, when its length is unknown).

    The one rule for finishing watching, over the websocket (``end``) and over HTTP.
    """
    return duration is None or position >= duration - END_TOLERANCE_SECONDS


def parse_end_message(message: dict[str, Any], *, duration: float | None) -> float:
    """The position of a websocket ``end`` message; raises ``FrameError`` unless playback reached the end."""
    position = parse_media_time(message.get("media_time"), duration=duration, seq=None)
    if not playback_reached_end(position, duration=duration):
        raise FrameError("not_finished", "playback has not reached the end of the stimulus")
    return position


def parse_text_message(text: str, *, limits: CaptureLimits) -> dict[str, Any]:
    """A websocket text message as a JSON object with a known ``type``; raises ``FrameError``."""
    if len(text) > limits.message_chars:
        raise FrameError("too_large", f"a message may be at most {limits.message_chars} characters")
    try:
        message = json.loads(text)
    except ValueError:
        # Not only JSONDecodeError: a whole number of more than 4,300 digits is a ValueError of its own.
        raise FrameError("bad_message", "the message is not valid JSON") from None
    if not isinstance(message, dict) or message.get("type") not in ("frame", "end"):
        raise FrameError("bad_message", 'a message is a JSON object whose type is "frame" or "end"')
    return message


def decode_image_text(text: Any, *, limits: CaptureLimits, seq: int | None) -> bytes:
    """Base64 (a data: URL prefix allowed) to bytes, refusing what is not base64 or is too large."""
    if not isinstance(text, str) or not text:
        raise FrameError("bad_message", "image must be a base64 JPEG or PNG", seq)
    text = DATA_URL_PREFIX.sub("", text, count=1)
    # Four characters for every three bytes, less the bytes the closing "=" padding stands in for.
    padding = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    if len(text) * 3 // 4 - padding > limits.frame_bytes:
        raise FrameError("too_large", f"a frame may be at most {limits.frame_bytes} bytes", seq)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FrameError("bad_image", "image is not valid base64", seq) from None


def parse_frame_message(message: Any, *, duration: float | None, limits: CaptureLimits) -> Frame:
    """Check a websocket frame message; raises FrameError with the protocol's code."""
    if not isinstance(message, dict):
        raise FrameError("bad_message", "a message must be a JSON object")
    seq = parse_seq(message.get("seq"))
    media_time = parse_media_time(message.get("media_time"), duration=duration, seq=seq)
    image = decode_image_text(message.get("image"), limits=limits, seq=seq)
    return Frame(seq=seq, media_time=media_time, image=image)


def parse_binary_frame(data: bytes, *, duration: float | None, limits: CaptureLimits) -> Frame:
    """Check a binary websocket frame: a JSON header line, ``\\n``, then the image's own bytes.

    The same frame as the JSON text message, without base64 (a third fewer bytes) and without
    the UTF-8 check every text message gets: about a fifth of a busy server's event loop.
    """
    # The header is read first, however large the image, so that a frame too large still gets its seq.
    newline_at = data.find(b"\n", 0, BINARY_HEADER_BYTES + 1)
    if newline_at < 0:
        raise FrameError("bad_message", "a binary frame is a JSON header line, a newline, then the image")
    try:
        header = json.loads(data[:newline_at])
    except ValueError:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors, as is an integer of over 4,300 digits.
        raise FrameError("bad_message", "the header line is not valid JSON") from None
    if not isinstance(header, dict) or header.get("type") != "frame":
        raise FrameError("bad_message", 'the header must be a JSON object with "type": "frame"')
    seq = parse_seq(header.get("seq"))
    media_time = parse_media_time(header.get("media_time"), duration=duration, seq=seq)
    image = data[newline_at + 1 :]
    if not image:
        raise FrameError("bad_image", "the image is empty", seq)
    if len(image) > limits.frame_bytes:
        raise FrameError("too_large", f"a frame may be at most {limits.frame_bytes} bytes", seq)
    return Frame(seq=seq, media_time=media_time, image=image)


def captured_reading(*, participant: Participant, frame: Frame, reading: Reading) -> services.CapturedReading:
    """The reading of a frame, as the participant's sample at the frame's media time is stored from it."""
    face = reading.face
    return services.CapturedReading(
        participant=participant,
        media_time=frame.media_time,
        probabilities=face.probabilities if face else None,
        face_box=face.box.as_tuple() if face else None,
        looking_at_screen=reading.looking_at_screen,
        model_version=reading.model_version,
        frame_image=frame.image,
    )


def wrong_phase(seq: int | None) -> FrameError:
    return FrameError("wrong_phase", "this participant is not watching now", seq)


def sample_from_reading(*, participant: Participant, frame: Frame, reading: Reading) -> tuple[EmotionSample, bool]:
    """Store the reading as the participant's sample at the frame's media time (the same one if re-sent).

    Returns the sample and whether it was stored now (False for a frame sent again). Raises
    ``FrameError("wrong_phase")`` when the participant stopped watching while the frame was read.
    """
    [stored] = services.captured_samples_record(
        readings=[captured_reading(participant=participant, frame=frame, reading=reading)]
    )
    if stored is None:
        raise wrong_phase(frame.seq)
    return stored


def ack_message(seq: int, sample: EmotionSample) -> dict[str, Any]:
    return {
        "type": "ack",
        "seq": seq,
        "media_time": sample.media_time,
        "face": sample.face_found,
        "emotion": sample.dominant_emotion or None,
        "probabilities": sample.probabilities,
    }
