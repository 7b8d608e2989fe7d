"""Load benchmark for live capture: N simulated participants each send a 640x480 face JPEG every second.

Run by hand against a running server that uses the same database settings as this script
(the same DATA_DIR or DATABASE_URL), for example:

    export SECRET_KEY=bench DEBUG=0 DATA_DIR=/tmp/capture-bench EMOTION_VIEWS=4
    .venv/bin/python manage.py migrate
    .venv/bin/daphne -b 127.0.0.1 -p 8000 reactionsite.asgi:application &
    .venv/bin/python benchmarks/capture_load.py --participants 10 50 100 --seconds 30

(DEBUG=1 keeps every query in memory and costs time per query: measure with it off.)

With several ASGI processes (PostgreSQL and Redis), give each address with --url; the simulated
participants are spread over them as a load balancer would. Frames go as binary messages, as
the watch page sends them; --text sends the JSON text frames (base64) instead. Reports, per N:
the sustained acknowledged rate, p50 and p95 ack latency, lost or duplicated samples, and how many
test-time views the faces were read with (fewer under load: CAPTURE_BATCH_BUDGET_MS).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactionsite.settings")


def face_jpeg() -> bytes:
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((640, 640)).crop((0, 0, 640, 480))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def create_participants(count: int, seconds: int) -> tuple[int, list[str]]:
    import django

    django.setup()
    from screenings.models import Participant, Screening
    from tests.factories import OrganizerFactory, ScreeningFactory

    organizer = OrganizerFactory(username="load-benchmark")
    screening = ScreeningFactory(
        owner=organizer,
        slug=f"load-{time.time_ns()}",
        status=Screening.Status.OPEN,
        stimulus_duration=float(seconds + 60),
    )
    participants = Participant.objects.bulk_create(
        [Participant(screening=screening, state=Participant.State.WATCHING) for _ in range(count)]
    )
    return screening.pk, [participant.token for participant in participants]


def stored_samples(screening_id: int) -> tuple[int, int, str]:
    """How many samples were stored, how many (participant, media time) pairs twice, and the views read."""
    from django.db.models import Count

    from screenings.models import EmotionSample

    samples = EmotionSample.objects.filter(screening_id=screening_id)
    duplicates = samples.values("participant", "media_time").annotate(n=Count("pk")).filter(n__gt=1).count()
    faces = samples.filter(face_found=True)
    total = faces.count()
    # model_version ends in "/<views>v": under load, live capture reads fewer views per face.
    shares = faces.values("model_version").annotate(n=Count("pk")).order_by("model_version")
    views = " ".join(f"{row['model_version'].rpartition('/')[2]} {row['n'] / total:.0%}" for row in shares)
    return samples.count(), duplicates, views or "-"


@dataclass
class Participant:
    token: str
    url: str
    latencies: list[tuple[int, float]] = field(default_factory=list)  # (seq, seconds)
    acked: set[float] = field(default_factory=set)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0


def frame_encoder(jpeg: bytes, *, text: bool) -> Callable[[int, float], str | bytes]:
    """Frames as the watch page sends them (binary: a JSON header line, then the JPEG), or as JSON text."""
    if text:
        image = base64.b64encode(jpeg).decode()
        return lambda seq, media_time: json.dumps(
            {"type": "frame", "seq": seq, "media_time": media_time, "image": image}
        )
    return lambda seq, media_time: (
        json.dumps({"type": "frame", "seq": seq, "media_time": media_time}).encode() + b"\n" + jpeg
    )


async def run_participant(
    participant: Participant, encode: Callable[[int, float], str | bytes], seconds: int, fps: float, start_at: float
) -> None:
    import websockets

    address = participant.url.replace("http", "ws", 1) + f"/ws/capture/{participant.token}/"
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    async with websockets.connect(address, max_size=None, origin=participant.url) as socket:
        sent_at: dict[int, float] = {}

        async def receive() -> None:
            async for text in socket:
                reply = json.loads(text)
                if reply["type"] == "ack":
                    participant.latencies.append((reply["seq"], time.monotonic() - sent_at[reply["seq"]]))
                    participant.acked.add(reply["media_time"])
                elif reply["type"] == "error":
                    participant.errors[reply["code"]] = participant.errors.get(reply["code"], 0) + 1
                if len(participant.latencies) + sum(participant.errors.values()) >= int(seconds * fps):
                    return

        receiver = asyncio.create_task(receive())
        begin = time.monotonic()
        for seq in range(int(seconds * fps)):
            await asyncio.sleep(max(0.0, begin + seq / fps - time.monotonic()))
            sent_at[seq] = time.monotonic()
            await socket.send(encode(seq, seq / fps))
            participant.sent += 1
        await asyncio.wait_for(receiver, timeout=60)


async def simulate(
    participants: list[Participant], seconds: int, fps: float, encode: Callable[[int, float], str | bytes]
) -> None:
    # Spread the starts over one sampling interval, as real viewers press Play at different moments.
    start = time.monotonic() + 1
    count = len(participants)
    await asyncio.gather(
        *(run_participant(p, encode, seconds, fps, start + index / count / fps) for index, p in enumerate(participants))
    )


def percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] * 1000 if ordered else None


def run_round(
    count: int, urls: list[str], seconds: int, fps: float, encode: Callable[[int, float], str | bytes], warmup: int
) -> dict:
    """One round: create the participants, simulate them, then count what the database holds."""
    screening_id, tokens = create_participants(count, seconds)
    participants = [Participant(token, urls[index % len(urls)]) for index, token in enumerate(tokens)]
    began = time.monotonic()
    asyncio.run(simulate(participants, seconds, fps, encode))
    elapsed = time.monotonic() - began - 1
    latencies = [latency for p in participants for _, latency in p.latencies]
    # The first frames of every participant need a full-frame face search (no previous position yet).
    steady = [latency for p in participants for seq, latency in p.latencies if seq >= warmup * fps]
    stored, duplicates, views = stored_samples(screening_id)
    sent = sum(p.sent for p in participants)
    acked = sum(len(p.acked) for p in participants)
    errors: dict[str, int] = {}
    for p in participants:
        for code, n in p.errors.items():
            errors[code] = errors.get(code, 0) + n
    return {
        "participants": count,
        "frames_sent": sent,
        "acked": acked,
        "rate_per_s": acked / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p95_ms": percentile(latencies, 0.95),
        "steady_p50_ms": percentile(steady, 0.5),
        "steady_p95_ms": percentile(steady, 0.95),
        "lost": sent - acked,
        "stored": stored,
        "duplicates": duplicates,
        "views": views,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", action="append", help="server address; repeat for several processes")
    parser.add_argument("--participants", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--warmup", type=int, default=5, help="seconds left out of the steady-state latency")
    parser.add_argument("--text", action="store_true", help="send JSON text frames (base64) instead of binary ones")
    arguments = parser.parse_args()
    urls = arguments.url or ["http://127.0.0.1:8000"]
    encode = frame_encoder(face_jpeg(), text=arguments.text)
    print(
        "| participants | frames sent | acknowledged/s | p50 / p95 ack ms | after warm-up: p50 / p95 ms "
        "| lost | duplicated | views read per face | errors |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for count in arguments.participants:
        result = run_round(count, urls, arguments.seconds, arguments.fps, encode, arguments.warmup)
        print(
            f"| {result['participants']} | {result['frames_sent']} | {result['rate_per_s']:.1f} | "
            f"{result['p50_ms']:.0f} / {result['p95_ms']:.0f} | {result['steady_p50_ms']:.0f} / "
            f"{result['steady_p95_ms']:.0f} | {result['lost']} | {result['duplicates']} | {result['views']} | "
            f"{result['errors'] or '-'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
