"""Sampling slots: the media-time windows a screening's samples are counted in."""

from __future__ import annotations

import hashlib
import math
from typing import Protocol

# Guards the floor against a media time like 2.9999999999 that stands for 3.0. The browser
# pages use the same value (passed to them from here).
SLOT_EPSILON = 1e-9


class HasSamplingInterval(Protocol):
    sampling_interval: object


def slot_width(screening: HasSamplingInterval) -> float:
    """Seconds of media time per slot: the screening's sampling interval."""
    return float(screening.sampling_interval)  # type: ignore[arg-type]


def slot_of(media_time: float, width: float) -> int:
    """The sampling slot a media time falls in; the same rule as ``services.totals.slot_expression`` in SQL."""
    return math.floor(media_time / width + SLOT_EPSILON)


def capture_offset(token: str, width: float) -> float:
    """Seconds into every slot at which this participant's watch page grabs its frame (docs/protocol.md).

    When a crowd presses Play together, every page would otherwise grab its frame at the same
    instant of each slot and the server would get a burst each second. Each participant gets
    their own offset, spread evenly over the slot by a hash of the link's token, so a reload
    keeps it (a re-sampled slot is the same media time, the same sample). Whole milliseconds,
    at most one millisecond short of the slot's end, so the sample's media time
    ``slot * width + offset`` stays in its slot.
    """
    digest = hashlib.sha256(f"capture-offset:{token}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    return math.floor(share * round(width * 1000)) / 1000
