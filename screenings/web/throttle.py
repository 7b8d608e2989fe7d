"""A count of requests per key and minute, in Django's cache, for pages anyone may call without an account.

A fixed window: at most ``limit`` calls per key in each ``window`` seconds. The cache is shared
between processes with the Redis cache of the scale-out profile; with the local-memory cache each
process counts on its own, which still stops a flood from one client.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def throttle_allows(key: str, *, limit: int, window: int = 60, now: float | None = None) -> bool:
    """Count one call for ``key``; False once more than ``limit`` were counted in the current window."""
    now = time.time() if now is None else now
    bucket = f"throttle:{key}:{int(now // window)}"
    # add() then incr() is atomic on Redis and in local memory: two requests at once both count.
    cache.add(bucket, 0, timeout=window + 1)
    try:
        count = cache.incr(bucket)
    except ValueError:
        # The window's count expired between add() and incr().
        cache.set(bucket, 1, timeout=window + 1)
        count = 1
    return count <= limit


def client_address(request: HttpRequest) -> str:
    """The address the request came from. A proxy in front must pass the client's own as REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
