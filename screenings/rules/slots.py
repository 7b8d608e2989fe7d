"""Sampling slots: the media-time windows a screening's samples are counted in."""

from __future__ import annotations

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
