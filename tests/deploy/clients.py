"""Clients of the deployed stack, all through nginx: HTTP with the stack's certificate, a participant's
capture as the watch page does it, and the organizers' live view as its page listens."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.deploy.stack import Stack
from tests.screenings.capture_helpers import face_jpeg

# The watch page keeps these frames and sends them again (docs/protocol.md); it drops the others.
RETRYABLE = {"rate_limited", "unavailable", "busy"}
FINAL_CLOSE_CODES = {4403, 4404, 4409}
RECONNECT_SECONDS = 0.5


def get(stack: Stack, path: str, **options) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.get(stack.url + path, verify=str(stack.certificate), timeout=30, **options)


def post(stack: Stack, path: str, **options) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.post(stack.url + path, verify=str(stack.certificate), timeout=60, **options)


def viewer(stack: Stack, token: str, *, interval: float, first_slot: int = 0) -> Viewer:
    """A participant's capture, as the watch page does it, sending a real face for every slot."""
    return Viewer(
        ws_url=stack.ws_url, origin=stack.url, tls=stack.tls(), token=token, image=face_jpeg(), interval=interval,
        first_slot=first_slot,
    )  # fmt: skip


def process_prefix(channel: str) -> str:
    """The web process a capture connection is on: a Redis channel name is ``specific.<process>!<connection>``."""
    match = re.fullmatch(r"specific\.([0-9a-f]+)!.+", channel)
    assert match, f"not a Redis channel layer's channel name: {channel!r}"
    return match.group(1)


def stored_samples(stack: Stack, audience: dict) -> list[dict[str, str]]:
    """The screening's samples CSV, downloaded through nginx with the organizer's API token."""
    response = get(
        stack,
        f"/api/screenings/{audience['screening']}/report/samples-csv/",
        headers={"Authorization": f"Token {audience['api_token']}"},
    )
    assert response.status_code == 200, response.text[:500]
    return list(csv.DictReader(io.StringIO(response.text)))


def until(condition, *, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def binary_frame(seq: int, media_time: float, image: bytes) -> bytes:
    return json.dumps({"type": "frame", "seq": seq, "media_time": media_time}).encode() + b"\n" + image


@dataclass
class Viewer:
    """A participant's capture as the watch page does it (static/js/lib/capture.js): one frame per sampling
    slot, kept until acknowledged and sent again after reconnecting; a retryable error's frame is sent
    again after its ``retry_after``. What happened is recorded for the test to check."""

    # wss://host:port, trusted with ``tls``; ``origin`` is the page's (Channels refuses a websocket without one).
    ws_url: str
    origin: str
    tls: ssl.SSLContext
    token: str
    image: bytes
    interval: float
    # The first sampling slot captured: a later viewer of the same participant goes on from there.
    first_slot: int = 0
    pending: dict[int, float] = field(default_factory=dict)
    acknowledged: Counter[float] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    close_codes: list[int | None] = field(default_factory=list)
    connections: int = 0
    failed_connects: int = 0
    final: bool = False
    socket: ClientConnection | None = None
    acknowledged_at: list[float] = field(default_factory=list)

    async def watch(self, slots: int, *, pace: float, deadline: float) -> None:
        """Capture ``slots`` frames, one every ``pace`` seconds, and keep the connection until all are
        acknowledged, the server says to stop, or ``deadline`` (monotonic) passes."""
        capturing = asyncio.create_task(self._capture(slots, pace))
        while not self.final and time.monotonic() < deadline and not (capturing.done() and not self.pending):
            try:
                async with connect(
                    f"{self.ws_url}/ws/capture/{self.token}/", origin=self.origin, ssl=self.tls,
                    open_timeout=10, max_size=None,
                ) as socket:  # fmt: skip
                    self.socket = socket
                    self.connections += 1
                    for seq in sorted(self.pending):
                        await socket.send(binary_frame(seq, self.pending[seq], self.image))
                    await self._receive(socket, capturing, deadline)
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
                self.final = closed.rcvd is not None and closed.rcvd.code in FINAL_CLOSE_CODES
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError):
                self.failed_connects += 1
            self.socket = None
            if not self.final:
                await asyncio.sleep(RECONNECT_SECONDS)
        capturing.cancel()

    async def _capture(self, slots: int, pace: float) -> None:
        for seq in range(slots):
            self.pending[seq] = round((self.first_slot + seq) * self.interval, 3)
            await self._send(seq)
            await asyncio.sleep(pace)

    async def _send(self, seq: int) -> None:
        socket = self.socket
        if socket is not None and seq in self.pending:
            # A frame the closing socket loses is sent again once reconnected.
            with contextlib.suppress(ConnectionClosed):
                await socket.send(binary_frame(seq, self.pending[seq], self.image))

    async def _resend_later(self, seq: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._send(seq)

    async def _receive(self, socket: ClientConnection, capturing: asyncio.Task, deadline: float) -> None:
        while not (capturing.done() and not self.pending) and time.monotonic() < deadline:
            try:
                # Briefly, so that the end of capturing is noticed (cancelling recv loses nothing).
                raw = await asyncio.wait_for(socket.recv(), timeout=0.2)
            except TimeoutError:
                continue
            reply = json.loads(raw)
            seq = reply.get("seq")
            if reply["type"] == "ack":
                media_time = self.pending.pop(seq, None)
                if media_time is not None:
                    self.acknowledged[media_time] += 1
                    self.acknowledged_at.append(time.monotonic())
            elif reply["type"] == "error":
                self.errors[reply["code"]] += 1
                if reply["code"] in RETRYABLE:
                    asyncio.get_running_loop().create_task(self._resend_later(seq, float(reply.get("retry_after", 1))))
                else:
                    self.pending.pop(seq, None)
        await socket.close()


async def watch_together(viewers: list[Viewer], slots: int, *, pace: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    await asyncio.gather(*(viewer.watch(slots, pace=pace, deadline=deadline) for viewer in viewers))


def organizer_session(stack: Stack, username: str, password: str) -> str:
    """Log in at the admin's login page through nginx, as a browser does; the session cookie's value."""
    session = requests.Session()
    # Per request: REQUESTS_CA_BUNDLE, where set, would win over the session's own setting.
    verify = str(stack.certificate)
    login = f"{stack.url}/admin/login/"
    session.get(login, verify=verify, timeout=30).raise_for_status()
    response = session.post(
        login,
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        # Over HTTPS Django's CSRF check also wants the page the form came from.
        headers={"Referer": login},
        allow_redirects=False,
        verify=verify,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return session.cookies["sessionid"]


@dataclass
class LiveListener:
    """The organizers' live view as its page listens (static/js/live.js): reconnecting whenever the socket
    closes, recording each event with the moment it arrived."""

    ws_url: str
    origin: str
    tls: ssl.SSLContext
    screening: int
    session: str
    events: list[tuple[float, dict]] = field(default_factory=list)
    connections: int = 0
    stopped: bool = False

    def samples(self) -> list[tuple[float, dict]]:
        return [(moment, event) for moment, event in self.events if event["event"] == "sample"]

    async def listen(self, deadline: float) -> None:
        while not self.stopped and time.monotonic() < deadline:
            try:
                async with connect(
                    f"{self.ws_url}/ws/live/{self.screening}/", origin=self.origin, ssl=self.tls,
                    additional_headers={"Cookie": f"sessionid={self.session}"}, open_timeout=10,
                ) as socket:  # fmt: skip
                    self.connections += 1
                    while not self.stopped and time.monotonic() < deadline:
                        with contextlib.suppress(TimeoutError):
                            self.events.append(
                                (time.monotonic(), json.loads(await asyncio.wait_for(socket.recv(), 0.2)))
                            )
            except (ConnectionClosed, OSError, InvalidHandshake, InvalidStatus, TimeoutError):
                pass
            await asyncio.sleep(RECONNECT_SECONDS)
