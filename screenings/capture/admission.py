"""The per-process limit on frames in flight, beyond which a frame is answered ``busy`` (docs/protocol.md).

A frame is in flight from when the process takes it up to be read until it is stored. Past
``CAPTURE_MAX_FRAMES_IN_FLIGHT`` a new frame is refused at once with the seconds after which to
send it again, so that when frames arrive faster than the process reads them the wait of those
taken stays bounded, and so does the memory their images hold, instead of a queue that grows
without end; the client keeps the frame. The websocket consumers (on the event loop) and the HTTP
fallback (in threads) share the count, so it is kept under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from screenings.capture.protocol import FrameError

_lock = threading.Lock()
_in_flight = 0


def frames_in_flight() -> int:
    """How many frames this process is reading or storing now."""
    return _in_flight


def busy_error(seq: int | None) -> FrameError:
    """The protocol's answer to a frame this process cannot take now: send it again after ``retry_after`` s."""
    return FrameError(
        "busy",
        "the server is reading as many frames as it can: send this one again later",
        seq,
        retry_after=settings.CAPTURE_BUSY_RETRY_SECONDS,
    )


@contextmanager
def frame_in_flight(seq: int | None) -> Iterator[None]:
    """Count a frame in flight while the block runs; raises the ``busy`` ``FrameError`` when the limit is reached."""
    global _in_flight
    with _lock:
        if _in_flight >= settings.CAPTURE_MAX_FRAMES_IN_FLIGHT:
            raise busy_error(seq)
        _in_flight += 1
    try:
        yield
    finally:
        with _lock:
            _in_flight -= 1
