"""The capture protocol's size limits through a real Daphne process, started as `manage.py serve` starts it.

Daphne's own message limit applies before the consumer sees a message: were it smaller than the
protocol's, a frame the protocol allows would drop the connection instead of being answered.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from autobahn.twisted.websocket import WebSocketServerProtocol
from django.core.management.base import CommandError
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from screenings.capture.protocol import (
    CLOSE_NOT_ALLOWED,
    CLOSE_REPLACED,
    CLOSE_SERVER_FAULT,
    CLOSE_UNKNOWN,
    CaptureLimits,
)
from screenings.management.commands.serve import daphne_command_line
from tests.screenings.capture_helpers import binary_frame, empty_jpeg, frame_message

ROOT = Path(__file__).resolve().parents[2]
FRAME_BYTES = 1024 * 1024  # CAPTURE_MAX_FRAME_BYTES's default, which the server below runs with
# Make the watching participant the server's database serves; its token is the last line printed.
SETUP = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.factories import ParticipantFactory, ScreeningFactory
screening = ScreeningFactory(stimulus_duration=30.0)
print(ParticipantFactory(screening=screening, state="watching").token)
"""


def padded_jpeg(size: int) -> bytes:
    """A valid JPEG of exactly ``size`` bytes: a small grey picture after empty APP15 segments."""
    picture = empty_jpeg()
    padding = size - len(picture)
    segments = []
    while padding > 0:
        # Each segment is a marker, a two-byte length and up to 65,533 bytes; the last needs room for its four.
        payload = min(65533, padding - 4)
        if 0 < padding - payload - 4 < 4:
            payload -= 4
        segments.append(b"\xff\xef" + (payload + 2).to_bytes(2, "big") + bytes(payload))
        padding -= payload + 4
    jpeg = picture[:2] + b"".join(segments) + picture[2:]
    assert len(jpeg) == size
    return jpeg


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Served:
    url: str
    origin: str
    token: str
    log: Path

    def open(self) -> ClientConnection:
        # Channels' origin check refuses a client without an Origin that matches ALLOWED_HOSTS, as a browser sends.
        return connect(f"{self.url}/ws/capture/{self.token}/", origin=self.origin, open_timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("served")
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CAPTURE_MAX_FRAME_BYTES", None)
    # A generous rate, so these frames are refused or acknowledged for their size alone.
    env |= {"SECRET_KEY": "limits-test", "DEBUG": "0", "DATA_DIR": str(data_dir), "ALLOWED_HOSTS": "127.0.0.1",
            "PRELOAD_EMOTION_MODEL": "0", "CAPTURE_RATE_FACTOR": "1000"}  # fmt: skip
    manage = [sys.executable, "manage.py"]
    setup = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.returncode == 0, setup.stderr
    token = setup.stdout.strip().splitlines()[-1]
    port = free_port()
    log = data_dir / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [*manage, "serve", "-b", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield Served(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}", token, log)
    finally:
        server.kill()
        server.wait()


def served_limits(settings) -> CaptureLimits:  # type: ignore[no-untyped-def]
    """The limits the server runs with, as this process computes them."""
    settings.CAPTURE_MAX_FRAME_BYTES = FRAME_BYTES
    return CaptureLimits.from_settings()


def exchange(connection: ClientConnection, message: dict | bytes | str) -> dict:
    connection.send(json.dumps(message) if isinstance(message, dict) else message)
    return json.loads(connection.recv(timeout=30))


def still_acknowledges(connection: ClientConnection, seq: int) -> None:
    ack = exchange(connection, binary_frame(seq, 29.0, empty_jpeg()))
    assert ack["type"] == "ack" and ack["seq"] == seq


def test_a_900_kb_jpeg_sent_as_base64_text_is_acknowledged(served):
    with served.open() as connection:
        ack = exchange(connection, frame_message(1, 1.0, padded_jpeg(900_000)))
        assert ack["type"] == "ack" and ack["seq"] == 1 and ack["face"] is False
        still_acknowledges(connection, 2)


def test_a_binary_frame_of_the_largest_allowed_size_is_acknowledged(served):
    with served.open() as connection:
        ack = exchange(connection, binary_frame(3, 2.0, padded_jpeg(FRAME_BYTES)))
        assert ack["type"] == "ack" and ack["seq"] == 3
        still_acknowledges(connection, 4)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_a_frame_just_over_the_limit_is_too_large_and_the_socket_still_works(served, kind):
    image = padded_jpeg(FRAME_BYTES + 1)
    message = frame_message(5, 3.0, image) if kind == "text" else binary_frame(5, 3.0, image)
    with served.open() as connection:
        error = exchange(connection, message)
        assert error["type"] == "error" and error["code"] == "too_large" and error["seq"] == 5
        still_acknowledges(connection, 6)


def test_a_text_message_over_the_message_limit_is_too_large_without_a_seq(served, settings):
    limit = served_limits(settings).message_chars
    message = json.dumps({"type": "frame", "seq": 7, "media_time": 4.0, "image": "A" * limit})
    with served.open() as connection:
        error = exchange(connection, message)
        assert error["code"] == "too_large" and error["seq"] is None
        still_acknowledges(connection, 8)


def test_a_message_over_the_servers_limit_drops_the_connection_and_the_next_one_works(served, settings):
    # The server may drop the connection while the message is still being sent, or after.
    with served.open() as connection, pytest.raises(ConnectionClosedError) as closed:
        connection.send(bytes(served_limits(settings).server_message_bytes + 1))
        connection.recv(timeout=30)
    # Autobahn sends 1009 and closes; the close frame is often lost to the unread rest (1006).
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    with served.open() as connection:
        still_acknowledges(connection, 9)


def test_the_server_limit_follows_capture_max_frame_bytes(settings):
    settings.CAPTURE_MAX_FRAME_BYTES = 300_000
    arguments = daphne_command_line(["-p", "8001"])
    size = str(2 * (300_000 * 4 // 3 + 4096))
    assert arguments == ["-p", "8001", "--websocket-max-message-size", size, "--websocket-max-frame-size", size,
                         "reactionsite.asgi:application"]  # fmt: skip


@pytest.mark.parametrize(
    "option", ["--websocket-max-message-size=5000000", "--websocket-max-frame-size", "--websocket-max"]
)
def test_the_server_refuses_a_websocket_limit_of_its_own(option):
    with pytest.raises(CommandError, match="CAPTURE_MAX_FRAME_BYTES"):
        daphne_command_line(["-p", "8001", option, "10"])


@pytest.mark.parametrize("code", [CLOSE_UNKNOWN, CLOSE_NOT_ALLOWED, CLOSE_REPLACED, CLOSE_SERVER_FAULT])
def test_every_close_code_of_the_capture_protocol_is_one_daphne_can_send(code):
    # Daphne's websocket library (autobahn) raises for any other code an application closes with, and
    # the socket then stays open in silence (a capture socket closed with 1011 did).
    protocol = WebSocketServerProtocol()
    protocol.state = protocol.STATE_CLOSED  # the code is checked before anything is sent
    protocol.sendClose(code=code)
