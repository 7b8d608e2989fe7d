"""The CSV downloads: every sample (streamed), one row per participant, and the metrics per time bin."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from screenings.models import Screening
from screenings.reports.builder import screening_report
from screenings.reports.exporters.base import Content, Exporter
from screenings.reports.exporters.metric_rows import bin_metric_rows
from screenings.reports.exporters.rows import Audience, participant_rows, sample_batches, sample_columns
from screenings.reports.options import ReportOptions


def csv_rows(rows: Sequence[Iterable[Any]]) -> Iterator[bytes]:
    yield from csv_batches([rows])


def csv_batches(batches: Iterable[Sequence[Iterable[Any]]]) -> Iterator[bytes]:
    """Each batch of rows as one chunk of CSV; ``writerows`` loops in C, not row by row in Python."""
    for rows in batches:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        yield buffer.getvalue().encode()


class SamplesCsvExporter(Exporter):
    """Every sample (of the chosen segment), one row each (the columns of ``sample_columns``); streamed."""

    identifier = "samples-csv"
    verbose_name = "Samples (CSV)"

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        audience = Audience.of(screening, options)

        def stream() -> Iterator[bytes]:
            yield from csv_rows([sample_columns(audience)])
            yield from csv_batches(sample_batches(screening, audience=audience))

        return f"{screening.slug}-samples.csv", "text/csv", stream()


class ParticipantsCsvExporter(Exporter):
    """One row per participant (of the chosen segment): answers, emotion summary, when they watched, segments."""

    identifier = "participants-csv"
    verbose_name = "Participants (CSV)"

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        header, rows = participant_rows(screening, audience=Audience.of(screening, options))
        return f"{screening.slug}-participants.csv", "text/csv", b"".join(csv_rows([header, *rows]))


class MetricsCsvExporter(Exporter):
    """Valence, expressiveness and attention per time bin with their 95% intervals (docs/metrics.md).

    Binned and smoothed as chosen on the page, and of the chosen segment only.
    """

    identifier = "metrics-csv"
    verbose_name = "Metrics per bin (CSV)"

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        header, rows = bin_metric_rows(screening_report(screening, **options.report_arguments()))
        return f"{screening.slug}-metrics.csv", "text/csv", b"".join(csv_rows([header, *rows]))
