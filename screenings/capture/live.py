"""What capture tells the organizers' live view, sent to its channel-layer group in batches.

A group message per sample cost each process a channel-layer round trip per frame (with Redis,
several). Instead each process gathers a screening's events and sends them in one group message
every ``FLUSH_SECONDS``; the live view's consumer passes them on one by one, in order, so the
page sees the events it always saw (docs/protocol.md), at most that much later.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
# The longest a frame sent over HTTP waits for the live view to be told of it.
HTTP_TELL_SECONDS = 1.0


def live_group(screening_id: int) -> str:
    return f"live-screening-{screening_id}"


class LiveBroadcaster:
    """Gathers live-view events per screening and sends each screening's as one group message."""

    def __init__(self, channel_layer: BaseChannelLayer) -> None:
        self.channel_layer = channel_layer
        self._events: dict[int, list[dict[str, Any]]] = {}
        self._sending: asyncio.Task[None] | None = None

    def tell(self, screening_id: int, event: dict[str, Any]) -> None:
        """Queue ``event`` for the screening's live view; it is sent within ``FLUSH_SECONDS``."""
        self._events.setdefault(screening_id, []).append(event)
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send_soon())

    async def _send_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        events, self._events, self._sending = self._events, {}, None
        for screening_id, batch in events.items():
            try:
                await self.channel_layer.group_send(live_group(screening_id), {"type": "live.events", "events": batch})
            except Exception:  # the live view is told on a best-effort basis; capture goes on regardless
                logger.exception("could not tell screening %s's live view about %s events", screening_id, len(batch))


_broadcasters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveBroadcaster] = weakref.WeakKeyDictionary()


def live_broadcaster(channel_layer: BaseChannelLayer) -> LiveBroadcaster:
    """The running event loop's broadcaster (one channel layer per process)."""
    loop = asyncio.get_running_loop()
    broadcaster = _broadcasters.get(loop)
    if broadcaster is None or broadcaster.channel_layer is not channel_layer:
        broadcaster = _broadcasters[loop] = LiveBroadcaster(channel_layer)
    return broadcaster


def tell_live_view_now(screening_id: int, event: dict[str, Any]) -> None:
    """Send one event to the screening's live view from sync code (the HTTP fallback), at once.

    A frame over HTTP is one request, so there is nothing to gather it with. Best effort, as
    the broadcaster is: with the channel layer down the frame is still stored and acknowledged.
    """
    message = {"type": "live.events", "events": [event]}

    async def send() -> None:
        # Bounded: the frame is stored already, and its answer must not wait on a slow channel layer.
        await asyncio.wait_for(get_channel_layer().group_send(live_group(screening_id), message), HTTP_TELL_SECONDS)

    try:
        async_to_sync(send)()
    except Exception:
        logger.exception("could not tell screening %s's live view about a frame sent over HTTP", screening_id)
