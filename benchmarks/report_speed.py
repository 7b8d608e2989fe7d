"""Report speed: 100 participants x 2 hours at one sample per second (720,000 samples).

Run by hand on a scratch database (it adds a screening full of generated samples):

    DEBUG=1 DATA_DIR=/tmp/report-bench .venv/bin/python benchmarks/report_speed.py [--participants 100 --seconds 7200]

Reports: the time to sum bulk-loaded samples into the report totals, the report's JSON before the
viewers' series are built (the first view after a bulk load), to render the screening report
page and its charts, the report's JSON (with its metrics) for everyone and for a segment
of about half the audience, and the samples CSV and Parquet streaming rates. ``--slug NAME`` measures the
screening with that slug again if an earlier run made it (generating takes minutes).
That the page's query count does not grow with participants is a test:
tests/screenings/test_reports.py.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactionsite.settings")


def generate(participants: int, seconds: int, slug: str):  # type: ignore[no-untyped-def]
    import numpy as np
    from django.utils import timezone

    from inference.labels import EMOTIONS
    from screenings.models import EmotionSample, Participant, Question, Scene
    from tests.factories import AnswerFactory, OrganizerFactory, QuestionFactory, ScreeningFactory

    organizer = OrganizerFactory(username="report-benchmark")
    screening = ScreeningFactory(owner=organizer, slug=slug, stimulus_duration=float(seconds))
    for index in range(6):
        Scene.objects.create(
            screening=screening, start=index * seconds / 6, end=(index + 1) * seconds / 6, label=f"Act {index + 1}"
        )
    mood = QuestionFactory(screening=screening, phase=Question.Phase.BOTH, kind=Question.Kind.LIKERT5, text="Mood?")
    liked = QuestionFactory(
        screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.LIKERT7, text="Liked it?"
    )
    rng = np.random.default_rng(0)
    now = timezone.now()
    people = Participant.objects.bulk_create(
        [
            Participant(screening=screening, state=Participant.State.COMPLETED, watch_started_at=now)
            for _ in range(participants)
        ]
    )
    for person in people:
        AnswerFactory(participant=person, question=mood, phase="before", value=int(rng.integers(1, 6)))
        AnswerFactory(participant=person, question=mood, phase="after", value=int(rng.integers(1, 6)))
        AnswerFactory(participant=person, question=liked, phase="after", value=int(rng.integers(1, 8)))
        probabilities = rng.dirichlet(np.ones(len(EMOTIONS)), size=seconds)
        faces = rng.random(seconds) > 0.05
        EmotionSample.objects.bulk_create(
            [
                EmotionSample(
                    participant=person, screening=screening, media_time=float(t), captured_at=now,
                    face_found=bool(faces[t]),
                    dominant_emotion=EMOTIONS[int(probabilities[t].argmax())] if faces[t] else "",
                    **({e: float(p) for e, p in zip(EMOTIONS, probabilities[t], strict=True)} if faces[t] else {}),
                )
                for t in range(seconds)
            ],
            batch_size=5000,
        )  # fmt: skip
    return screening, organizer


def rebuild_totals(screening) -> float:  # type: ignore[no-untyped-def]
    """Samples loaded in bulk bypass sample_record, so their totals are summed in one go, as an upgrade does."""
    from screenings.services.totals import totals_rebuild

    began = time.perf_counter()
    totals_rebuild(screening)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=7200)
    parser.add_argument("--slug", default=None, help="reuse (or make) the screening with this slug")
    arguments = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from screenings.models import Screening

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    slug = arguments.slug or f"report-bench-{time.time_ns()}"
    big = Screening.objects.filter(slug=slug).first()
    if big is None:
        started = time.perf_counter()
        big, _ = generate(arguments.participants, arguments.seconds, slug)
        print(
            f"generated {arguments.participants * arguments.seconds} samples in {time.perf_counter() - started:.0f} s"
            f" (screening {slug}: measure it again with --slug {slug})"
        )
    organizer = big.owner
    rebuild_seconds = rebuild_totals(big)
    client = Client()
    client.force_login(organizer)

    def page(screening) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        """Seconds for the page's HTML, and seconds for all its charts."""
        began = time.perf_counter()
        response = client.get(reverse("organizer-report", args=[screening.pk]))
        html_seconds = time.perf_counter() - began
        assert response.status_code == 200
        began = time.perf_counter()
        for chart in re.findall(r'src="([^"]+\.png[^"]*)"', response.content.decode()):
            assert client.get(chart.replace("&amp;", "&")).status_code == 200
        return html_seconds, time.perf_counter() - began

    # Summing the totals again dropped the viewers' series: this first view builds them from the samples,
    # as the first report after a bulk load does (a participant who finishes has theirs built then).
    unbuilt_seconds = timed_get(client, f"/api/screenings/{big.pk}/report/")[0]
    page(big)  # warm caches (the metrics' too), as a second organizer visit would
    big_seconds, chart_seconds = page(big)
    json_seconds = timed_get(client, f"/api/screenings/{big.pk}/report/")
    segment = half_the_audience(big)
    segment_seconds = timed_get(client, f"/api/screenings/{big.pk}/report/?segment={segment.pk}")
    csv_seconds, size = streamed(client, reverse("organizer-download", args=[big.pk, "samples-csv"]))
    # Three downloads: the run-to-run spread on a shared machine is a fifth of the time.
    parquet_runs = [streamed(client, reverse("organizer-download", args=[big.pk, "samples-parquet"])) for _ in range(3)]
    parquet_size = parquet_runs[0][1]
    rows = big.samples.count()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| sum {rows:,} bulk-loaded samples into the report totals | {rebuild_seconds:.2f} s |")
    print(f"| report page HTML, {rows:,} samples | {big_seconds:.2f} s |")
    print(f"| all the page's charts (PNG), together | {chart_seconds:.2f} s |")
    print(f"| report JSON with its metrics, the viewers' series not yet built | {unbuilt_seconds:.2f} s |")
    print(f"| report JSON with its metrics (`/api/screenings/<id>/report/`), first / again | "
          f"{json_seconds[0]:.2f} s / {json_seconds[1]:.2f} s |")  # fmt: skip
    print(f"| a segment's report JSON ({segment.name}), first / again | "
          f"{segment_seconds[0]:.2f} s / {segment_seconds[1]:.2f} s |")  # fmt: skip
    print(
        f"| samples CSV, {rows:,} rows ({size / 1e6:.0f} MB) | {csv_seconds:.1f} s = {rows / csv_seconds:,.0f} rows/s |"
    )
    rates = ", ".join(f"{seconds:.2f} s = {rows / seconds:,.0f}" for seconds, _ in parquet_runs)
    print(f"| samples Parquet ({parquet_size / 1e6:.0f} MB), three downloads | {rates} rows/s |")
    return 0


def timed_get(client, url: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds for a first GET with the cache empty, then for the same GET again (its metrics cached)."""
    from django.core.cache import cache

    cache.clear()
    times = []
    for _ in range(2):
        began = time.perf_counter()
        assert client.get(url).status_code == 200
        times.append(time.perf_counter() - began)
    return times[0], times[1]


def streamed(client, url: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds and bytes for a whole streamed download."""
    began = time.perf_counter()
    response = client.get(url)
    size = sum(len(chunk) for chunk in response.streaming_content)
    return time.perf_counter() - began, size


def half_the_audience(screening):  # type: ignore[no-untyped-def]
    """A segment of those who liked it (5 or more of 7): about half the audience, kept for later runs."""
    from screenings import services

    existing = screening.segments.filter(name="liked it").first()
    if existing is not None:
        return existing
    liked = screening.questions.get(text="Liked it?")
    return services.segment_create(screening=screening, name="liked it", rules=[{"question": liked.pk, "min": 4}])


if __name__ == "__main__":
    sys.exit(main())
