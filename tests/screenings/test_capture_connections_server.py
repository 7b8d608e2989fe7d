"""Database connections stay bounded however many viewers connect: 1,000 sockets on two real server processes.

Each process does live capture's database work in ``CAPTURE_DATABASE_THREADS`` threads, each with
one connection; before, every socket held a connection of its own and a few hundred viewers
exceeded PostgreSQL's default of 100. Runs against the PostgreSQL of ``DATABASE_URL`` (skipped
without one), on a database of its own that it creates and drops.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import websockets

from tests.screenings.capture_helpers import binary_frame, empty_jpeg
from tests.screenings.test_capture_limits_server import free_port

ROOT = Path(__file__).resolve().parents[2]
VIEWERS = 1000
PROCESSES = 2
DATABASE_THREADS = 4
SENDING = 100  # viewers that also send a frame, so samples are stored while all are connected
SETUP = f"""
from django.core.management import call_command
call_command("migrate", verbosity=0)
from screenings.models import Participant
from tests.factories import ScreeningFactory
screening = ScreeningFactory(stimulus_duration=30.0)
people = Participant.objects.bulk_create(
    [Participant(screening=screening, state=Participant.State.WATCHING) for _ in range({VIEWERS})]
)
print(" ".join(person.token for person in people))
"""

server_url = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not server_url.startswith(("postgres://", "postgresql://")), reason="needs PostgreSQL (DATABASE_URL)"
)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"capture_connections_{time.time_ns()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connections_to(name: str) -> int:
    with psycopg.connect(server_url, autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def served(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[int], list[str]]]:
    """Two server processes on the new database; their ports and the watching participants' tokens."""
    data_dir = tmp_path_factory.mktemp("connections")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env |= {"SECRET_KEY": "connections-test", "DEBUG": "0", "DATA_DIR": str(data_dir), "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": server_url.rsplit("/", 1)[0] + "/" + database, "DB_CONN_MAX_AGE": "60",
            "CAPTURE_DATABASE_THREADS": str(DATABASE_THREADS), "FRAME_WORKERS": "1"}  # fmt: skip
    manage = [sys.executable, "manage.py"]
    setup = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert setup.returncode == 0, setup.stderr
    tokens = setup.stdout.strip().splitlines()[-1].split()
    ports = [free_port() for _ in range(PROCESSES)]
    logs = [(data_dir / f"server-{port}.log").open("w") for port in ports]
    servers = [
        subprocess.Popen(
            [*manage, "serve", "-b", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_for(port, server)
        yield ports, tokens
    finally:
        for server in servers:
            server.kill()
            server.wait()
        for log in logs:
            log.close()


def wait_for(port: int, server: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 90
    while True:
        assert server.poll() is None, f"the server on {port} exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"the server on {port} did not start"
            time.sleep(0.2)


async def connect_all(ports: list[int], tokens: list[str]) -> list[websockets.ClientConnection]:
    async def one(index: int, token: str) -> websockets.ClientConnection:
        port = ports[index % len(ports)]
        return await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/capture/{token}/",
            origin=f"http://127.0.0.1:{port}",
            open_timeout=120,
            # No keepalive pings: a thousand sockets in one client must not time each other out.
            ping_interval=None,
        )

    # In waves, as viewers arrive; each opening does its own database work on the server.
    sockets: list[websockets.ClientConnection] = []
    for start in range(0, len(tokens), 100):
        sockets += await asyncio.gather(*(one(start + i, t) for i, t in enumerate(tokens[start : start + 100])))
    return sockets


async def acknowledged(socket: websockets.ClientConnection, seq: int) -> dict:
    await socket.send(binary_frame(seq, 1.0, empty_jpeg()))
    return json.loads(await asyncio.wait_for(socket.recv(), timeout=120))


def test_a_thousand_connected_viewers_on_two_processes_hold_a_few_database_connections(served, database):
    ports, tokens = served

    async def scenario() -> tuple[int, list[dict], list[str]]:
        sockets = await connect_all(ports, tokens)
        replies = await asyncio.gather(*(acknowledged(socket, 0) for socket in sockets[:SENDING]))
        # Every socket is still open, and has done its database work (looked up, recorded as connected).
        held = connections_to(database)
        closed = [str(socket.close_code) for socket in sockets if socket.state is not websockets.State.OPEN]
        for socket in sockets:
            await socket.close()
        return held, replies, closed

    held, replies, closed = asyncio.run(scenario())
    assert closed == [], f"closed by the server: {closed}"
    assert [reply["type"] for reply in replies] == ["ack"] * SENDING
    assert held <= PROCESSES * DATABASE_THREADS, f"{held} connections for {VIEWERS} viewers"
