"""Load benchmark for live capture: simulated viewers send webcam-like frames as the watch page does.

Each viewer sends one frame per second of media time for ``--seconds`` seconds over the capture
websocket, as a binary message (a JSON header line, then the JPEG: docs/protocol.md), in order,
and waits for the replies. The frames are FER2013 PublicTest faces pasted at 160-260 px at
random places into 640x480 frames with a room-like background (``inference.synthetic_frames``),
with about ``--empty-share`` extra frames showing no face, scaled to 480 px wide and encoded as
JPEG at quality 80, as the watch page draws and encodes its camera's picture.

``--scene seated`` (the default): each viewer is a person at their own webcam
(``synthetic_frames.viewer_frames``): their own room, their face at their own place and size
(160-260 px, drawn per viewer), moving by up to 4% of its side from frame to frame as a seated
head does, another FER2013 face in every frame (so no frame is easier for the one before it),
and about ``--empty-share`` of the frames with the room alone (looked away, left the seat).
``--scene scattered``: every frame puts its face at a new random place and size, so the search
near the previous face almost always misses and every frame costs a whole-frame search: a
bound no real audience reaches. In both, each viewer sends its own frames, so no two viewers
send the same picture.

``--starts step``: every viewer sends at the same instant of each second (a synchronised
premiere: everyone pressed Play together). ``--starts spread``: the viewers' instants are spread
evenly over the second. ``--phase page``: each viewer sends at the capture offset the watch page
uses for its participant (``screenings.rules.slots.capture_offset``, a share of each slot taken
from the link's token), with that media time; ``--phase none`` (the default) sends at the start of
each slot with the slot's start as media time, as the page did before the offset existed.

The benchmark starts its own servers (``--serve``) or measures running ones (``--url``):

    # one Daphne process on SQLite with the in-memory channel layer, in a fresh DATA_DIR
    .venv/bin/python benchmarks/capture_load.py --serve sqlite --viewers 100 200 --starts step spread

    # two Daphne processes on PostgreSQL and Redis: a fresh database is created on the server of
    # --database-url (and dropped afterwards); Redis is used as it is
    .venv/bin/python benchmarks/capture_load.py --serve postgres --processes 2 \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/0

    # servers already running on the same database settings as this script's environment
    # (DATA_DIR or DATABASE_URL); --pid lets the server processes' CPU be reported
    .venv/bin/python benchmarks/capture_load.py --url http://127.0.0.1:8001 --url http://127.0.0.1:8002

A viewer answered ``busy`` does what the watch page does: it keeps the frame and sends nothing,
new frames included, for the reply's ``retry_after`` doubled for every ``busy`` in a row (up to
30 s, stretched by a random 0-50%), then sends the frames it held in order; a ``rate_limited``
frame goes again after 2 s. An acknowledgement's latency counts from when the frame was taken,
however long it was held or how often sent. Viewers are spread over the servers' addresses as a load
balancer would. Each round (one number
of viewers, one kind of start) uses a new screening and new participants, so every round starts
with every viewer's first frame; it starts once the servers are idle (a backlog the round before
left queued is read first). Per round it reports: frames sent; acknowledged per second of
sending; p50 / p95 / p99 of the time from sending a frame to its acknowledgement; frames still
unanswered ``--drain`` seconds after the last was sent (the viewers then leave); the samples
stored in the database, counted once the servers are idle again, against the acknowledged ones;
the acknowledged but not stored (lost); samples stored twice in one participant's slot
(duplicated); every error code and websocket close code seen, with counts;
the server processes' CPU while the viewers send (cores used, from /proc, per process, and CPU
milliseconds per acknowledged frame), the load client's and every other program's on the machine
meanwhile (the cores are shared: a row measured beside other work says so); the load average
before; the share
of stored samples with a face; the views faces were read with (fewer under load:
``CAPTURE_BATCH_BUDGET_MS``). The machine and its load average come first. ``--json FILE`` also
writes every round's figures as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactionsite.settings")
FER_CSV = ROOT.parent / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"
# What the watch page sends (static/js/lib/camera.js): at most 480 px wide, JPEG quality 0.8.
PAGE_FRAME_WIDTH = 480
PAGE_JPEG_QUALITY = 80
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# What the watch page does with a frame answered "busy" (static/js/lib/capture.js, docs/protocol.md):
# it keeps the frame and sends nothing, new frames included, for the reply's retry_after (1 s
# without one), doubled for every "busy" in a row up to 30 s, stretched by a random 0-50%; an
# acknowledgement ends the run of "busy". A frame answered "rate_limited" is sent again after 2 s.
DEFAULT_RETRY_SECONDS = 1.0
MAX_BUSY_WAIT_SECONDS = 30.0
RATE_LIMITED_WAIT_SECONDS = 2.0


# Frames -------------------------------------------------------------------------------------


def page_jpegs(count: int, *, seed: int, empty_share: float) -> list[bytes]:
    """``count`` FER2013 faces pasted into 640x480 frames (plus frames without a face), as the page sends them."""
    import cv2

    from inference.datasets import load_faces
    from inference.synthetic_frames import FRAME_HEIGHT, FRAME_WIDTH, pasted_frames

    faces = load_faces(FER_CSV, usage="PublicTest", limit=count)
    size = (PAGE_FRAME_WIDTH, round(FRAME_HEIGHT * PAGE_FRAME_WIDTH / FRAME_WIDTH))
    jpegs = []
    for frame in pasted_frames(faces.images, seed=seed, empty_share=empty_share):
        small = cv2.resize(frame.grey, size, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, PAGE_JPEG_QUALITY])
        assert ok
        jpegs.append(encoded.tobytes())
    return jpegs


def binary_frame(seq: int, media_time: float, jpeg: bytes) -> bytes:
    """A frame as the watch page sends it (capture.js ``binaryFrame``): a JSON header line, a newline, the JPEG."""
    header = json.dumps({"type": "frame", "seq": seq, "media_time": media_time}, separators=(",", ":"))
    return header.encode() + b"\n" + jpeg


# Servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start")


def postgres_database(server_url: str) -> str:
    """A new, empty database on the PostgreSQL server of ``server_url``; its URL."""
    import psycopg

    name = f"capture_load_{time.time_ns()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def postgres_drop(database_url: str) -> None:
    import psycopg

    server_url, _, name = database_url.rpartition("/")
    with psycopg.connect(server_url + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def started_servers(arguments: argparse.Namespace) -> Iterator[tuple[list[str], list[int], str]]:
    """Start the servers ``--serve`` asks for in a fresh data folder; yields their URLs, PIDs and a description."""
    data_dir = Path(tempfile.mkdtemp(prefix="capture-load-"))
    environment = {
        "SECRET_KEY": "capture-load-benchmark",
        # DEBUG=1 keeps every query in memory and costs time per query: measure with it off.
        "DEBUG": "0",
        "DATA_DIR": str(data_dir),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    database_url = None
    if arguments.serve == "postgres":
        if not arguments.database_url or not arguments.redis_url:
            raise SystemExit("--serve postgres needs --database-url (a server to create a database on) and --redis-url")
        database_url = postgres_database(arguments.database_url)
        environment.update({"DATABASE_URL": database_url, "REDIS_URL": arguments.redis_url})
    else:
        for name in ("DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
    # This process reads and writes the same database (participants before, samples after).
    os.environ.update(environment)
    child_environment = {**os.environ}
    processes: list[subprocess.Popen] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT, env=child_environment, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        ports = [free_port() for _ in range(arguments.processes)]
        for port in ports:
            command = [sys.executable, "manage.py", "serve", "-b", "127.0.0.1", "-p", str(port)]
            processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=child_environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        for port, process in zip(ports, processes, strict=True):
            wait_for_port(port, process)
        if arguments.serve == "postgres":
            setup = f"{arguments.processes} Daphne processes, PostgreSQL, Redis channel layer"
        else:
            plural = "es" if arguments.processes > 1 else ""
            setup = f"{arguments.processes} Daphne process{plural}, SQLite, in-memory channel layer"
        yield [f"http://127.0.0.1:{port}" for port in ports], [process.pid for process in processes], setup
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if database_url:
            from django.db import connections

            connections.close_all()
            postgres_drop(database_url)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process, all its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """CPU seconds all processes have used on this machine (every core), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(n) for n in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def wait_until_idle(pids: list[int], *, timeout: float = 300) -> float:
    """Wait until the servers use under a tenth of a core (a backlog of frames from the round before is done)."""
    began = time.monotonic()
    while pids and time.monotonic() - began < timeout:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(2)
        if sum(cpu_seconds(pid) for pid in pids) - before < 0.2:
            break
    return time.monotonic() - began


# The database -------------------------------------------------------------------------------


def create_viewers(count: int, seconds: int) -> tuple[int, float, list[str]]:
    """A new open screening and ``count`` watching participants; its id, sampling interval and their tokens."""
    import django

    django.setup()
    from screenings.models import Participant, Screening
    from tests.factories import OrganizerFactory, ScreeningFactory

    organizer = OrganizerFactory(username=f"load-benchmark-{time.time_ns()}")
    screening = ScreeningFactory(
        owner=organizer,
        slug=f"load-{time.time_ns()}",
        status=Screening.Status.OPEN,
        stimulus_duration=float(seconds + 60),
    )
    participants = Participant.objects.bulk_create(
        [Participant(screening=screening, state=Participant.State.WATCHING) for _ in range(count)]
    )
    return screening.pk, float(screening.sampling_interval), [participant.token for participant in participants]


def stored_samples(screening_id: int, interval: float) -> dict[str, Any]:
    """What the database holds for the screening: its samples by (participant token, media time)."""
    from django.db.models import Count

    from screenings.models import EmotionSample
    from screenings.rules.slots import slot_of

    samples = EmotionSample.objects.filter(screening_id=screening_id)
    rows = list(samples.values_list("participant__token", "media_time", "face_found"))
    slots = Counter((token, slot_of(media_time, interval)) for token, media_time, _ in rows)
    faces = samples.filter(face_found=True)
    found = faces.count()
    # model_version ends in "/<views>v": under load, live capture reads fewer views per face.
    shares = faces.values("model_version").annotate(n=Count("pk")).order_by("model_version")
    views = " ".join(f"{row['model_version'].rpartition('/')[2]} {row['n'] / found:.0%}" for row in shares)
    return {
        "keys": {(token, round(media_time, 3)) for token, media_time, _ in rows},
        "count": len(rows),
        "duplicated": sum(n - 1 for n in slots.values() if n > 1),
        "face_share": found / len(rows) if rows else 0.0,
        "views": views or "-",
    }


# The viewers --------------------------------------------------------------------------------


@dataclass
class Viewer:
    token: str
    url: str
    frames: list[bytes]
    offset: float  # seconds into each second at which this viewer sends, and into its slot
    media_offset: float  # seconds past the slot's start written as the frame's media time
    latencies: list[float] = field(default_factory=list)
    acked: set[float] = field(default_factory=set)
    errors: Counter = field(default_factory=Counter)
    closes: Counter = field(default_factory=Counter)
    sent: int = 0
    answered: int = 0


class HeldFrames:
    """The watch page's hold-back after ``busy`` (static/js/lib/capture.js ``holdBack``), for one viewer.

    While held, frames the viewer takes wait in the queue (``held``) instead of being sent; once
    the wait is over they go, in order, unless acknowledged meanwhile.
    """

    def __init__(self, *, seed: int) -> None:
        self.random = random.Random(seed)
        self.busy_in_a_row = 0
        self.until = 0.0
        self.held: set[int] = set()

    def holding(self) -> bool:
        return time.monotonic() < self.until

    def busy(self, seq: int, retry_after: Any) -> None:
        """A ``busy`` reply for ``seq`` with the reply's ``retry_after`` (seconds; missing or 0: 1 s)."""
        self.busy_in_a_row += 1
        base = max(1.0, float(retry_after or DEFAULT_RETRY_SECONDS)) * 2 ** (self.busy_in_a_row - 1)
        wait = min(MAX_BUSY_WAIT_SECONDS, base) * (1 + self.random.random() / 2)
        self.until = max(self.until, time.monotonic() + wait)
        self.held.add(seq)

    def acknowledged(self) -> None:
        self.busy_in_a_row = 0


async def run_viewer(viewer: Viewer, *, begin: float, seconds: int, interval: float, drain: float) -> None:
    import websockets

    address = viewer.url.replace("http", "ws", 1) + f"/ws/capture/{viewer.token}/"
    sent_at: dict[int, float] = {}
    tasks: set[asyncio.Task] = set()
    messages: dict[int, bytes] = {}
    unacknowledged: set[int] = set()
    hold = HeldFrames(seed=int(hashlib.sha256(viewer.token.encode()).hexdigest()[:8], 16))
    flusher: asyncio.Task | None = None

    async def transmit(connection: Any, seq: int) -> None:
        if hold.holding():
            hold.held.add(seq)
            return
        with suppress(websockets.ConnectionClosed):
            await connection.send(messages[seq])

    async def send_held(connection: Any) -> None:
        nonlocal flusher
        while hold.holding():
            await asyncio.sleep(hold.until - time.monotonic())
        flusher = None
        seqs, hold.held = sorted(hold.held), set()
        for seq in seqs:
            if seq in unacknowledged:
                await transmit(connection, seq)

    async def send_later(connection: Any, seq: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if seq in unacknowledged:
            await transmit(connection, seq)

    async def receive(connection: Any) -> None:
        nonlocal flusher
        try:
            async for text in connection:
                reply = json.loads(text)
                if reply["type"] == "error":
                    viewer.errors[reply["code"]] += 1
                    seq = reply.get("seq")
                    if reply["code"] == "busy" and seq in messages:
                        hold.busy(seq, reply.get("retry_after"))
                        if flusher is None:
                            flusher = asyncio.create_task(send_held(connection))
                            tasks.add(flusher)
                        continue
                    if reply["code"] == "rate_limited" and seq in messages:
                        tasks.add(asyncio.create_task(send_later(connection, seq, RATE_LIMITED_WAIT_SECONDS)))
                        continue
                elif reply["type"] == "ack":
                    # From when the page took the frame: what the viewer waited, holds and retries included.
                    viewer.latencies.append(time.monotonic() - sent_at[reply["seq"]])
                    viewer.acked.add(round(reply["media_time"], 3))
                    unacknowledged.discard(reply["seq"])
                    hold.acknowledged()
                viewer.answered += 1
                if viewer.answered >= seconds:
                    return
        except websockets.ConnectionClosed:
            pass
        # The server closed the socket before every frame was answered.
        viewer.closes[str(connection.close_code or "1006 (none received)")] += 1

    try:
        connection = await websockets.connect(address, max_size=None, origin=viewer.url, open_timeout=60)
    except (OSError, websockets.InvalidHandshake, TimeoutError) as error:
        viewer.closes[f"not connected: {type(error).__name__}"] += 1
        return
    receiver = asyncio.create_task(receive(connection))
    try:
        for seq in range(seconds):
            await asyncio.sleep(max(0.0, begin + seq + viewer.offset - time.monotonic()))
            if receiver.done():
                break
            media_time = round(seq * interval + viewer.media_offset, 3)
            messages[seq] = binary_frame(seq, media_time, viewer.frames[seq % len(viewer.frames)])
            # Latency counts from when the page took the frame, however long it was held.
            sent_at[seq] = time.monotonic()
            unacknowledged.add(seq)
            await transmit(connection, seq)
            viewer.sent += 1
        await asyncio.wait_for(asyncio.shield(receiver), timeout=max(0.0, begin + seconds + drain - time.monotonic()))
    except websockets.ConnectionClosed:
        await receiver
    except TimeoutError:
        receiver.cancel()
    finally:
        for task in tasks:
            task.cancel()
        await connection.close()


async def simulate(viewers: list[Viewer], *, seconds: int, interval: float, drain: float) -> None:
    # Everyone connects first (the page opens its socket before Play), then sending starts together.
    begin = time.monotonic() + 2 + len(viewers) / 100
    await asyncio.gather(
        *(run_viewer(viewer, begin=begin, seconds=seconds, interval=interval, drain=drain) for viewer in viewers)
    )


def viewer_offsets(tokens: list[str], *, starts: str, phase: str, interval: float) -> list[tuple[float, float]]:
    """Per viewer: when in each second it sends, and how far into its slot the media time lies."""
    offsets = []
    for index, token in enumerate(tokens):
        start = 0.0 if starts == "step" else index / len(tokens)
        media_offset = page_capture_offset(token, interval) if phase == "page" else 0.0
        offsets.append((start + media_offset, media_offset))
    return offsets


def _viewer_frames(index: int, jpegs: list[bytes] | SeatedViewers, seconds: int) -> list[bytes]:
    if isinstance(jpegs, SeatedViewers):
        return jpegs.frames_for(index, seconds)
    return frames_for(index, jpegs, seconds)


def page_capture_offset(token: str, interval: float) -> float:
    # Imported only here, so that the benchmark also measures code from before the offset existed.
    from screenings.rules.slots import capture_offset

    return capture_offset(token, interval)


def frames_for(index: int, jpegs: list[bytes], seconds: int) -> list[bytes]:
    """Viewer ``index``'s own stretch of the frames, starting at its own place in them."""
    start = int(hashlib.sha256(str(index).encode()).hexdigest(), 16) % len(jpegs)
    return [jpegs[(start + step) % len(jpegs)] for step in range(seconds)]


class SeatedViewers:
    """Each viewer's frames from their own seat (``synthetic_frames.viewer_frames``), made on first use."""

    def __init__(self, *, faces: int, seed: int, empty_share: float) -> None:
        from inference.datasets import load_faces

        self.faces = load_faces(FER_CSV, usage="PublicTest", limit=faces).images
        self.seed, self.empty_share = seed, empty_share
        self.made: dict[tuple[int, int], list[bytes]] = {}

    def frames_for(self, index: int, seconds: int) -> list[bytes]:
        if (index, seconds) not in self.made:
            import cv2

            from inference.synthetic_frames import FRAME_HEIGHT, FRAME_WIDTH, viewer_frames

            start = int(hashlib.sha256(str(index).encode()).hexdigest(), 16) % len(self.faces)
            faces = [self.faces[(start + step) % len(self.faces)] for step in range(seconds)]
            size = (PAGE_FRAME_WIDTH, round(FRAME_HEIGHT * PAGE_FRAME_WIDTH / FRAME_WIDTH))
            frames = viewer_frames(faces, seed=self.seed * 100_003 + index, empty_share=self.empty_share)
            self.made[(index, seconds)] = [
                cv2.imencode(".jpg", cv2.resize(frame.grey, size, interpolation=cv2.INTER_AREA),
                             [cv2.IMWRITE_JPEG_QUALITY, PAGE_JPEG_QUALITY])[1].tobytes()
                for frame in frames
            ]  # fmt: skip
        return self.made[(index, seconds)]


def percentile_ms(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000


def run_round(
    count: int,
    starts: str,
    *,
    arguments: argparse.Namespace,
    urls: list[str],
    pids: list[int],
    jpegs: list[bytes] | SeatedViewers,
) -> dict[str, Any]:
    """One round: create the viewers, let them send, then count what the database holds."""
    screening_id, interval, tokens = create_viewers(count, arguments.seconds)
    offsets = viewer_offsets(tokens, starts=starts, phase=arguments.phase, interval=interval)
    viewers = [
        Viewer(token, urls[index % len(urls)], _viewer_frames(index, jpegs, arguments.seconds), offset, media_offset)
        for index, (token, (offset, media_offset)) in enumerate(zip(tokens, offsets, strict=True))
    ]
    wait_until_idle(pids)
    load_before = os.getloadavg()
    cpu_before = [cpu_seconds(pid) for pid in pids]
    machine_before = machine_cpu_seconds()
    client_before = time.process_time()
    began = time.monotonic()
    asyncio.run(simulate(viewers, seconds=arguments.seconds, interval=interval, drain=arguments.drain))
    wall = time.monotonic() - began
    cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    client_cpu = (time.process_time() - client_before) / wall
    # What else ran on the machine meanwhile (other programs share these cores): all CPU but ours.
    other_cpu = (machine_cpu_seconds() - machine_before - sum(cpu)) / wall - client_cpu
    load_after = os.getloadavg()
    # Frames the servers still had queued when the viewers left are read and stored before counting.
    backlog_seconds = wait_until_idle(pids)
    stored = stored_samples(screening_id, interval)
    acknowledged = {(viewer.token, media_time) for viewer in viewers for media_time in viewer.acked}
    latencies = [latency for viewer in viewers for latency in viewer.latencies]
    errors: Counter = sum((viewer.errors for viewer in viewers), Counter())
    closes: Counter = sum((viewer.closes for viewer in viewers), Counter())
    sent = sum(viewer.sent for viewer in viewers)
    return {
        "viewers": count,
        "starts": starts,
        "phase": arguments.phase,
        "seconds": arguments.seconds,
        "frames_sent": sent,
        "not_sent": count * arguments.seconds - sent,
        "acknowledged": len(acknowledged),
        "acknowledged_per_s": len(acknowledged) / arguments.seconds,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p95_ms": percentile_ms(latencies, 0.95),
        "p99_ms": percentile_ms(latencies, 0.99),
        "max_ms": percentile_ms(latencies, 1.0),
        "unanswered": sent - sum(viewer.answered for viewer in viewers),
        "stored": stored["count"],
        "lost": len(acknowledged - stored["keys"]),
        "duplicated": stored["duplicated"],
        "errors": dict(errors),
        "closes": dict(closes),
        "server_cores": [round(seconds / wall, 2) for seconds in cpu],
        "server_cpu_ms_per_ack": sum(cpu) * 1000 / len(acknowledged) if acknowledged else None,
        "client_cores": round(client_cpu, 2),
        "other_cores": round(other_cpu, 2),
        "face_share": stored["face_share"],
        "views": stored["views"],
        "load_before": load_before,
        "load_after": load_after,
        "servers_busy_after_s": round(backlog_seconds, 1),
    }


def counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{code} x{n}" for code, n in sorted(counter.items())) or "none"


def milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table_row(result: dict[str, Any]) -> str:
    cores = " + ".join(f"{share:.2f}" for share in result["server_cores"]) or "-"
    return (
        f"| {result['viewers']} | {result['starts']} | {result['phase']} | {result['frames_sent']} | "
        f"{result['acknowledged_per_s']:.1f} | {milliseconds(result['p50_ms'])} / {milliseconds(result['p95_ms'])} / "
        f"{milliseconds(result['p99_ms'])} | {result['unanswered'] + result['not_sent']} | "
        f"{result['stored']} / {result['acknowledged']} | {result['lost']} | {result['duplicated']} | "
        f"{counts(result['errors'])} | {counts(result['closes'])} | {cores} | "
        f"{milliseconds(result['server_cpu_ms_per_ack'])} | {result['client_cores']:.2f} | "
        f"{result['face_share']:.0%} | {result['views']} | {result['load_before'][0]:.2f} | "
        f"{result['other_cores']:.2f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    servers = parser.add_mutually_exclusive_group()
    servers.add_argument("--serve", choices=["sqlite", "postgres"], help="start the servers to measure")
    servers.add_argument("--url", action="append", help="a running server's address; repeat for several processes")
    parser.add_argument("--processes", type=int, default=1, help="with --serve: how many Daphne processes")
    parser.add_argument("--database-url", help="with --serve postgres: a PostgreSQL server to create a database on")
    parser.add_argument("--redis-url", help="with --serve postgres: the Redis for the channel layer")
    parser.add_argument("--pid", type=int, action="append", default=[], help="with --url: a server process's PID")
    parser.add_argument("--viewers", type=int, nargs="+", default=[100])
    parser.add_argument("--starts", choices=["step", "spread"], nargs="+", default=["step", "spread"])
    parser.add_argument("--phase", choices=["none", "page"], default="none", help="the watch page's capture offset")
    parser.add_argument("--seconds", type=int, default=30, help="frames per viewer, one a second")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for replies after the last frame")
    parser.add_argument("--frames", type=int, default=400, help="different faces to paste (each viewer cycles its own)")
    parser.add_argument(
        "--scene", choices=["seated", "scattered"], default="seated",
        help="seated: each viewer's face stays at their own place; scattered: a new place every frame",
    )  # fmt: skip
    parser.add_argument("--empty-share", type=float, default=0.2, help="share of extra frames without a face")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path, help="also write each round's figures to this file as JSON lines")
    arguments = parser.parse_args()
    if not FER_CSV.exists():
        raise SystemExit(f"FER2013 is not at {FER_CSV}")

    from inference.cpu import cpu_description

    print(f"Machine: {cpu_description()}")
    if arguments.scene == "seated":
        jpegs: list[bytes] | SeatedViewers = SeatedViewers(
            faces=arguments.frames, seed=arguments.seed, empty_share=arguments.empty_share
        )
        print(f"Frames: each viewer seated in their own room, {arguments.frames} FER2013 PublicTest faces in turn, "
              f"about {arguments.empty_share:.0%} of frames without a face")  # fmt: skip
    else:
        jpegs = page_jpegs(arguments.frames, seed=arguments.seed, empty_share=arguments.empty_share)
        print(
            f"Frames: {len(jpegs)} different, scattered ({arguments.frames} FER2013 PublicTest faces, about "
            f"{arguments.empty_share:.0%} more without a face), "
            f"median {statistics.median(map(len, jpegs)) / 1000:.1f} kB"
        )
    if arguments.serve:
        context = started_servers(arguments)
    else:
        context = running_servers(arguments.url or ["http://127.0.0.1:8000"], arguments.pid)
    with context as (urls, pids, setup):
        print(f"Servers: {setup}, {', '.join(urls)}; commit {commit()}")
        print(
            "\n| viewers | starts | phase | frames sent | acknowledged/s | p50 / p95 / p99 ack ms | unanswered "
            "| stored / acknowledged | lost | duplicated | errors | closes | server cores | server CPU ms per ack "
            "| client cores "
            "| with a face | views read per face | load before | other programs' cores |"
        )
        print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|---:|---:|", flush=True)
        for count in arguments.viewers:
            for starts in arguments.starts:
                result = run_round(count, starts, arguments=arguments, urls=urls, pids=pids, jpegs=jpegs)
                print(table_row(result), flush=True)
                if arguments.json:
                    with arguments.json.open("a") as handle:
                        handle.write(json.dumps({"setup": setup, "commit": commit(), **result}) + "\n")
    return 0


@contextmanager
def running_servers(urls: list[str], pids: list[int]) -> Iterator[tuple[list[str], list[int], str]]:
    yield urls, pids, f"{len(urls)} running server{'s' if len(urls) > 1 else ''}"


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return result.stdout.strip() + (" with uncommitted changes" if changed.stdout.strip() else "")


if __name__ == "__main__":
    sys.exit(main())
