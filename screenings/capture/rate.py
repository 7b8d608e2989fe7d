"""The one rate limit on frames, for the websocket and the HTTP fallback alike.

A token bucket per participant: on average ``rate_factor`` frames per sampling interval, with
bursts (frames queued while a connection was lost are re-sent together). The bucket lives in
Django's cache, keyed by the participant's token, so it holds across reconnections, across the
websocket and HTTP, and, with the Redis cache of the scale-out profile, across processes.
Two frames of one participant that race may both read the same bucket; the limit is then off
by a frame, which is harmless for a limit meant to stop floods. While the cache cannot be reached
(Redis restarting), the buckets are kept in the process itself: capture goes on, limited per
process, instead of every frame failing on the limit's bookkeeping.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import BaseCache, cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from screenings.capture.protocol import CaptureLimits
from screenings.models import Participant

MINIMUM_BURST = 8.0
# The shared cache's failures that mean it cannot be reached now, rather than a fault of the code.
CACHE_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

logger = logging.getLogger(__name__)
_process_buckets = LocMemCache("capture-rate-while-the-cache-is-unreachable", {})


@dataclass(frozen=True)
class FrameRate:
    """Frames a second on average, and the largest burst."""

    rate: float
    burst: float

    @classmethod
    def for_participant(cls, participant: Participant, limits: CaptureLimits) -> FrameRate:
        rate = limits.rate_factor / float(participant.screening.sampling_interval)
        return cls(rate=rate, burst=max(MINIMUM_BURST, rate * 4))


def _key(participant: Participant) -> str:
    # The token, which no other participant ever gets (an id can come back after deletions).
    return f"capture-rate:{participant.token}"


def frame_allowed(participant: Participant, limits: CaptureLimits, *, now: float | None = None) -> bool:
    """Take one frame from the participant's bucket; False when it is empty (the frame is refused)."""
    now = time.time() if now is None else now
    try:
        return _take(cache, participant, limits, now)
    except CACHE_UNREACHABLE as error:
        logger.warning("capture rate limit kept in this process: the cache cannot be reached (%s)", error)
        return _take(_process_buckets, participant, limits, now)


def _take(buckets: BaseCache, participant: Participant, limits: CaptureLimits, now: float) -> bool:
    limit = FrameRate.for_participant(participant, limits)
    tokens, updated = buckets.get(_key(participant), (limit.burst, now))
    tokens = min(limit.burst, tokens + max(0.0, now - updated) * limit.rate)
    allowed = tokens >= 1
    if allowed:
        tokens -= 1
    # Kept until the bucket would be full again anyway.
    buckets.set(_key(participant), (tokens, now), timeout=int(limit.burst / limit.rate) + 2)
    return allowed
