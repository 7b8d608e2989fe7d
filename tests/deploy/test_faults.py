"""Faults under a live screening, with two Daphne processes behind nginx: a process killed, Redis
restarted, PostgreSQL refusing connections. Real processes and real kills; the participants are the
watch page's capture in Python (tests/deploy/clients.py), the organizer the live view's socket."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import redis as redis_lib
from psycopg import sql

from tests.deploy.clients import (
    LiveListener,
    Viewer,
    organizer_session,
    post,
    process_prefix,
    stored_samples,
    until,
    viewer,
    watch_together,
)
from tests.deploy.conftest import DATABASE, postgres_admin
from tests.deploy.stack import OwnRedis, Stack
from tests.screenings.capture_helpers import face_jpeg

pytestmark = pytest.mark.e2e
INTERVAL = 0.5
RETRYABLE_STATUS = 503


@pytest.fixture(autouse=True)
def _every_process_running(faults) -> None:  # type: ignore[no-untyped-def]
    """A test that killed a web process leaves it to the next to start again, as systemd would."""
    faults.restart_stopped()


@contextmanager
def watching(viewers: list[Viewer], slots: int, *, timeout: float = 120) -> Iterator[Future]:
    """The viewers capture ``slots`` frames each, one every sampling interval, in a thread beside the test."""
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(asyncio.run, watch_together(viewers, slots, pace=INTERVAL, timeout=timeout))


def acknowledged_at_least(viewers: list[Viewer], count: int) -> Callable[[], bool]:
    return lambda: all(len(viewer.acknowledged) >= count for viewer in viewers)


def assert_each_acknowledged_frame_stored_once(stack: Stack, audience: dict, viewers: list[Viewer], slots: int) -> None:
    stored = Counter((int(row["participant"]), float(row["media_time"])) for row in stored_samples(stack, audience))
    assert set(stored.values()) == {1}, f"samples stored twice: {[key for key, n in stored.items() if n > 1]}"
    every_slot = {round(slot * INTERVAL, 3) for slot in range(slots)}
    # The viewers are the audience's first participants.
    for participant, watcher in zip(audience["participants"], viewers, strict=False):
        missing = sorted(every_slot - set(watcher.acknowledged))
        assert not missing, (
            f"never acknowledged: {missing}; errors {dict(watcher.errors)}, connections {watcher.connections}, "
            f"closed with {watcher.close_codes}, failed connects {watcher.failed_connects}\n{stack.logs()}"
        )
        assert {time for pk, time in stored if pk == participant} == every_slot


def frame_over_http(stack: Stack, token: str, seq: int):  # type: ignore[no-untyped-def]
    return post(
        stack, f"/api/capture/{token}/frames/", data={"seq": str(seq), "media_time": str(seq * INTERVAL)},
        files={"image": face_jpeg()},
    )  # fmt: skip


def assert_retryable(response) -> None:  # type: ignore[no-untyped-def]
    """The protocol's answer for a frame the server cannot take now: send it again after Retry-After."""
    assert response.status_code == RETRYABLE_STATUS, response.text[:500]
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert (body["type"], body["code"]) == ("error", "busy"), body
    assert body["retry_after"] >= 1


def test_a_killed_processs_viewers_reconnect_through_nginx_to_the_other_and_every_ack_is_stored_once(faults):
    audience = faults.call("site_audience", viewers=4, interval=str(INTERVAL), label="kill")
    viewers = [viewer(faults, token, interval=INTERVAL) for token in audience["tokens"]]
    slots = 24
    with watching(viewers, slots) as watched:
        until(acknowledged_at_least(viewers, 4), timeout=60, what="every viewer's first frames acknowledged")
        channels = faults.call("site_capture_channels", participants=audience["participants"])
        # Mid-screening, frames in flight: the process dies as it would to the out-of-memory killer.
        killed = faults.web[0].kill()
        watched.result()
    assert killed == -signal.SIGKILL
    processes = {process_prefix(channel) for channel in channels.values()}
    assert len(processes) == 2, f"the viewers were not on both processes: {channels}"
    moved = [watcher for watcher in viewers if watcher.connections > 1]
    stayed = [watcher for watcher in viewers if watcher.connections == 1]
    # The killed process's viewers came back through nginx, to the one process left; the others never noticed.
    assert moved and stayed, [(watcher.connections, watcher.close_codes) for watcher in viewers]
    assert_each_acknowledged_frame_stored_once(faults, audience, viewers, slots)


@contextmanager
def redis_stopped(redis: OwnRedis) -> Iterator[None]:
    """Redis down, then up again on the same port, empty (nothing is kept on disk): its groups are gone."""
    redis.stop()
    try:
        yield
    finally:
        redis.start()


@contextmanager
def organizer_listening(stack: Stack, audience: dict) -> Iterator[LiveListener]:
    """The organizer's live view open, in a thread beside the test, until the block ends."""
    live = LiveListener(
        ws_url=stack.ws_url, origin=stack.url, tls=stack.tls(), screening=audience["screening"],
        session=organizer_session(stack, audience["username"], audience["password"]),
    )  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        listening = pool.submit(asyncio.run, live.listen(time.monotonic() + 300))
        try:
            until(lambda: live.connections > 0, timeout=30, what="the live view connected")
            yield live
        finally:
            live.stopped = True
            listening.result()


def live_samples_since(live: LiveListener, moment: float) -> Callable[[], bool]:
    return lambda: any(arrived > moment for arrived, _ in live.samples())


def test_capture_and_the_live_view_recover_when_redis_restarts(faults, own_redis):
    # Two watch over the websocket, the third sends a frame over HTTP.
    audience = faults.call("site_audience", viewers=3, interval=str(INTERVAL), label="redis")
    viewers = [viewer(faults, token, interval=INTERVAL) for token in audience["tokens"][:2]]
    slots = 30
    with organizer_listening(faults, audience) as live:
        with watching(viewers, slots) as watched:
            until(acknowledged_at_least(viewers, 4), timeout=60, what="every viewer's first frames acknowledged")
            until(lambda: len(live.samples()) >= 4, timeout=30, what="the live view received samples")
            with redis_stopped(own_redis):
                # The HTTP fallback needs no Redis to store a frame (the rate limit is then kept per process).
                answer = frame_over_http(faults, audience["tokens"][2], 0)
                assert (answer.status_code, answer.json()["type"]) == (200, "ack"), answer.text[:500]
            back = time.monotonic()
            watched.result()
        # Frames captured after Redis came back reach the organizer, who stayed on the live page.
        until(live_samples_since(live, back), timeout=30, what="live samples after Redis came back")
        last_slot = round((slots - 1) * INTERVAL, 3)
        until(lambda: any(event["media_time"] == last_slot for _, event in live.samples()), timeout=30,
              what="the last frame's sample in the live view")  # fmt: skip
    assert_each_acknowledged_frame_stored_once(faults, audience, viewers, slots)


def test_a_live_view_that_stayed_open_while_redis_lost_its_data_hears_its_screening_again(faults, own_redis):
    audience = faults.call("site_audience", viewers=2, interval=str(INTERVAL), label="redis-emptied")
    with organizer_listening(faults, audience) as live:
        # Redis empty while every connection to it stays up: a restart the clients' retries rode out,
        # or a failover to an empty replica. The group memberships are gone; the live socket is open.
        redis_lib.Redis.from_url(own_redis.url).flushall()
        emptied = time.monotonic()
        viewers = [viewer(faults, token, interval=INTERVAL) for token in audience["tokens"]]
        with watching(viewers, 20) as watched:
            until(live_samples_since(live, emptied), timeout=30, what="live samples after Redis was emptied")
            watched.result()
        assert live.connections == 1, "the live view's socket was closed: this test needs it open"


@contextmanager
def database_refusing_connections(server: str) -> Iterator[None]:
    """The stack's database refuses new connections and loses its open ones, as in a failover; then comes back.

    The machine's PostgreSQL keeps serving every other database (other tests use it).
    """
    name = sql.Identifier(DATABASE)
    with postgres_admin(server) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(name))
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [DATABASE],
            )
            yield
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(name))


def test_frames_get_a_retryable_error_while_postgresql_refuses_connections_and_are_stored_once_it_is_back(
    faults, postgres_server
):
    audience = faults.call("site_audience", viewers=2, interval=str(INTERVAL), label="postgres")
    viewers = [viewer(faults, token, interval=INTERVAL) for token in audience["tokens"]]
    slots = 30
    with watching(viewers, slots) as watched:
        until(acknowledged_at_least(viewers, 4), timeout=60, what="every viewer's first frames acknowledged")
        with database_refusing_connections(postgres_server):
            # Long enough for every socket to check its participant's phase again (every 2 s) meanwhile:
            # that failing closed the socket with a code Daphne cannot send, and it went silent.
            until(lambda: all(watcher.errors["busy"] >= 6 for watcher in viewers), timeout=30, what="busy answers")
            assert_retryable(frame_over_http(faults, audience["tokens"][0], 1000))
        watched.result()
    assert_each_acknowledged_frame_stored_once(faults, audience, viewers, slots)
    assert not any(set(watcher.errors) - {"busy"} for watcher in viewers), [watcher.errors for watcher in viewers]
