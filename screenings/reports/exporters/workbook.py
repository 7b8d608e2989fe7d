"""The workbook (XLSX): one sheet per table, each a named Excel table with a header, typed cells and charts.

Laid out as pretix's multi-sheet exporters are: ``sheets`` names each sheet, and an
``iterate_<sheet>`` method yields its columns (header and number format) and then its rows.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.utils import timezone

from inference import EMOTION_COLOURS, EMOTIONS
from screenings.models import Screening
from screenings.reports.builder import screening_report
from screenings.reports.exporters.base import Content, Exporter
from screenings.reports.exporters.metric_rows import (
    bin_metric_rows,
    paired_test_rows,
    scene_metric_rows,
    synchrony_rows,
)
from screenings.reports.exporters.rows import Audience, answer_value, participant_rows, sample_columns, sample_rows
from screenings.reports.exporters.safety import spreadsheet_safe
from screenings.reports.options import ReportOptions
from screenings.selectors import reports as selectors

# A worksheet holds 1,048,576 rows: the header, the samples and a closing note.
XLSX_MAX_SAMPLE_ROWS = 1_048_576 - 2
# Excel's longest table column name.
MAX_COLUMN_NAME = 255
PROBABILITY = "0.000"
SHARE = "0.0%"
SECONDS = "0.0"
INTEGER = "0"
CHANGE = "+0.00;-0.00;0.00"
MOMENT = "yyyy-mm-dd hh:mm:ss"


class Column(NamedTuple):
    """A sheet's column: its header and the number format of its cells (None: as typed)."""

    name: str
    number_format: str | None = None


class Formatted(NamedTuple):
    """One cell with its own number format, in a column whose cells differ (the summary's values)."""

    value: Any
    number_format: str


def _excel_moment(value: datetime) -> datetime:
    # A workbook has no time zones: times are written in UTC, and the headers say so.
    return value.astimezone(UTC).replace(tzinfo=None) if timezone.is_aware(value) else value


class _TableSheet:
    """A write-only worksheet holding one table: typed cells in their number formats, any text.

    Characters a workbook cannot hold become U+FFFD: XML 1.0, and so XLSX, has no place for
    most control characters (a participant can type U+0007 into a free-text answer or a panel
    id), and openpyxl refuses the whole workbook for one. The cell still says something was
    there; the CSV downloads keep the text exactly.
    """

    def __init__(self, workbook: Any, title: str) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.sheet = workbook.create_sheet(title)
        # The header stays in view; a write-only sheet takes its view before the first row.
        self.sheet.freeze_panes = "A2"
        self.title = title
        self._illegal = ILLEGAL_CHARACTERS_RE
        self.columns: list[Column] = []
        self.rows = 0

    def _text(self, value: str) -> str:
        return self._illegal.sub("\ufffd", value) if self._illegal.search(value) else value

    def header(self, columns: list[Column]) -> None:
        # A table's column names are unique and at most 255 characters; the header cells are the names.
        names: list[str] = []
        for column in columns:
            name = self._text(column.name)[:MAX_COLUMN_NAME] or "column"
            base, count = name, 2
            while name.casefold() in {taken.casefold() for taken in names}:
                suffix = f" ({count})"
                name, count = base[: MAX_COLUMN_NAME - len(suffix)] + suffix, count + 1
            names.append(name)
        self.columns = [Column(name, column.number_format) for name, column in zip(names, columns, strict=True)]
        self.sheet.append(names)

    def append(self, row: Iterable[Any]) -> None:
        from openpyxl.cell import WriteOnlyCell

        cells: list[Any] = []
        for index, value in enumerate(row):
            number_format = self.columns[index].number_format if index < len(self.columns) else None
            if isinstance(value, Formatted):
                value, number_format = value
            if isinstance(value, str):
                value = self._text(value)
            elif isinstance(value, datetime):
                value, number_format = _excel_moment(value), MOMENT
            if number_format and value is not None and not isinstance(value, str | bool):
                cell = WriteOnlyCell(self.sheet, value=value)
                cell.number_format = number_format
                value = cell
            cells.append(value)
        self.sheet.append(cells)
        self.rows += 1

    def append_plain(self, rows: Iterable[Iterable[Any]]) -> None:
        """Rows appended without number formats (the samples: a million rows, rounded already)."""
        for row in rows:
            self.sheet.append([self._text(v) if isinstance(v, str) else v for v in row])
            self.rows += 1

    def close_table(self, display_name: str) -> None:
        """Make the header and the rows so far one Excel table (filters, banded rows, a name to refer to)."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.filters import AutoFilter
        from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

        ref = f"A1:{get_column_letter(max(1, len(self.columns)))}{self.rows + 1}"
        table = Table(
            displayName=display_name, ref=ref, autoFilter=AutoFilter(ref=ref),
            tableColumns=[TableColumn(id=index, name=column.name) for index, column in enumerate(self.columns, 1)],
            tableStyleInfo=TableStyleInfo(name="TableStyleLight9", showRowStripes=True),
        )  # fmt: skip
        with warnings.catch_warnings():
            # openpyxl warns on every table of a write-only sheet that its columns must be given: they are.
            warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
            self.sheet.add_table(table)


def _table_name(sheet: str) -> str:
    """A sheet's table name: letters and digits only, as Excel's structured references need."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", sheet) if part)


class XlsxExporter(Exporter):
    """A workbook of the report's tables, each on its own sheet, with native charts.

    Figures are typed and rounded by their number formats (probabilities 0.000, shares 0.0 %),
    times are dates in UTC, the timeline is binned and smoothed as chosen on the page.
    """

    identifier = "xlsx"
    verbose_name = "Workbook (XLSX)"
    sheets = [
        "summary", "funnel", "reactions", "timeline", "metrics", "scene_metrics", "synchrony", "scenes",
        "top_moments", "quality", "participants", "answers", "distributions", "changes", "paired_tests",
        "emotion_by_answer", "samples",
    ]  # fmt: skip

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        from openpyxl import Workbook

        report = screening_report(screening, **options.report_arguments())
        audience = Audience.of(screening, options)
        workbook = Workbook(write_only=True)
        written = {}
        for name in self.sheets:
            sheet = _TableSheet(workbook, name)
            rows = getattr(self, f"iterate_{name}")(screening, report, audience)
            sheet.header(next(rows))
            if name == "samples":
                self._write_samples(sheet, rows)
            else:
                for row in rows:
                    sheet.append(row)
                sheet.close_table(_table_name(name))
            written[name] = sheet
        _timeline_chart(written["timeline"])
        _reactions_chart(written["reactions"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return f"{screening.slug}-report.xlsx", mimetype, buffer.getvalue()

    def _write_samples(self, sheet: _TableSheet, rows: Iterator[Any]) -> None:
        left_out: list[Any] = []

        def limited() -> Iterator[Any]:
            for index, row in enumerate(rows):
                if index == XLSX_MAX_SAMPLE_ROWS:
                    left_out.append(row)
                    return
                yield row

        sheet.append_plain(limited())
        sheet.close_table("Samples")
        if left_out:
            # A spreadsheet past its row limit does not open at all; the CSV and Parquet have no limit.
            sheet.sheet.append([f"Only the first {XLSX_MAX_SAMPLE_ROWS:,} samples fit in a workbook: "
                                "download the samples CSV or Parquet for all of them."])  # fmt: skip

    def iterate_summary(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("item"), Column("value")]
        timeline, quality = report["timeline"], report["quality"]
        yield ["screening", spreadsheet_safe(screening.title)]
        yield ["stimulus duration (s)", Formatted(screening.stimulus_duration, SECONDS)]
        yield ["sampling interval (s)", Formatted(float(screening.sampling_interval), SECONDS)]
        yield ["time bin (s)", Formatted(timeline["bin_seconds"], SECONDS)]
        yield ["smoothing (bins)", Formatted(timeline["smoothing"], INTEGER)]
        yield ["face-found threshold", Formatted(quality["threshold"], SHARE)]
        yield ["participants included", Formatted(sum(not row["excluded"] for row in quality["participants"]),
                                                  INTEGER)]  # fmt: skip
        yield ["samples", Formatted(quality["samples"], INTEGER)]
        yield ["faces", Formatted(quality["faces"], INTEGER)]
        if report["segment"] is not None:
            yield ["segment", spreadsheet_safe(report["segment"]["name"])]
            for rule in report["segment"]["described"]:
                yield ["segment rule", spreadsheet_safe(rule)]
        yield ["exported at (UTC)", timezone.now()]

    def iterate_funnel(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("step"), Column("participants", INTEGER)]
        for step in report["funnel_steps"]:
            yield [step["label"], step["count"]]

    def iterate_reactions(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("emotion"), Column("share of faces", SHARE)]
        for emotion, share in report["reaction_summary"].items():
            yield [emotion, share]

    def iterate_timeline(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [
            Column("start (s)", SECONDS),
            Column("participants", INTEGER),
            *(Column(e, PROBABILITY) for e in EMOTIONS),
        ]
        for point in report["timeline"]["bins"]:
            yield [point["start"], point["participants"], *(point[e] for e in EMOTIONS)]

    def iterate_metrics(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield from _typed(*bin_metric_rows(report))

    def iterate_scene_metrics(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield from _typed(*scene_metric_rows(report))

    def iterate_synchrony(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield from _typed(*synchrony_rows(report))

    def iterate_paired_tests(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield from _typed(*paired_test_rows(report))

    def iterate_scenes(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("scene"), Column("start (s)", SECONDS), Column("end (s)", SECONDS),
               *(Column(f"share {e}", SHARE) for e in EMOTIONS),
               *(Column(f"mean {e}", PROBABILITY) for e in EMOTIONS)]  # fmt: skip
        for scene in report["scenes"]:
            yield [spreadsheet_safe(scene["label"]), scene["start"], scene["end"],
                   *(scene["shares"][e] for e in EMOTIONS), *(scene["means"][e] for e in EMOTIONS)]  # fmt: skip

    def iterate_top_moments(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("emotion"), Column("rank", INTEGER), Column("start (s)", SECONDS), Column("end (s)", SECONDS),
               Column("mean", PROBABILITY), Column("baseline", PROBABILITY), Column("rise", CHANGE),
               Column("rise lower", CHANGE), Column("rise upper", CHANGE), Column("viewers", INTEGER),
               Column("p (one-sided)", "0.0000"), Column("p adjusted", "0.0000")]  # fmt: skip
        for emotion, windows in report["top_moments"].items():
            for rank, window in enumerate(windows, 1):
                yield [emotion, rank, window["start"], window["end"], window["mean"], window["baseline"],
                       window["lift"], window["lower"], window["upper"], window["viewers"], window["p"],
                       window["p_adjusted"]]  # fmt: skip

    def iterate_quality(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("participant", INTEGER), Column("label"), Column("external_id"), Column("state"),
               Column("samples", INTEGER), Column("faces", INTEGER), Column("face rate", SHARE),
               Column("flagged"), Column("excluded")]  # fmt: skip
        for row in report["quality"]["participants"]:
            yield [row["participant_id"], spreadsheet_safe(row["label"]), spreadsheet_safe(row["external_id"]),
                   row["state"], row["samples"], row["faces"], row["face_rate"], row["flagged"],
                   row["excluded"]]  # fmt: skip

    def iterate_participants(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        header, rows = participant_rows(screening, audience=audience)
        yield [Column(name, _participant_format(name)) for name in header]
        yield from rows

    def iterate_answers(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("participant", INTEGER), Column("label"), Column("external_id"), Column("phase"),
               Column("question"), Column("answer"), Column("answered at (UTC)", MOMENT)]  # fmt: skip
        for answer in selectors.included_answers(screening, members=audience.members):
            yield [answer.participant_id, spreadsheet_safe(answer.participant.label),
                   spreadsheet_safe(answer.participant.external_id), answer.phase,
                   spreadsheet_safe(answer.question.text), answer_value(answer.value), answer.answered_at]  # fmt: skip

    def iterate_distributions(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("question"), Column("phase"), Column("answer"), Column("participants", INTEGER)]
        for question in report["before_after"]:
            if question["shown_as"] == "list":
                continue
            for phase, counts in question["distributions"].items():
                for answer in question["categories"]:
                    yield [
                        spreadsheet_safe(question["question"]),
                        phase,
                        spreadsheet_safe(answer),
                        counts.get(answer, 0),
                    ]

    def iterate_changes(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column("question"), Column("participant", INTEGER), Column("before"), Column("after"),
               Column("change", CHANGE)]  # fmt: skip
        for question in report["before_after"]:
            for change in question["changes"]:
                yield [spreadsheet_safe(question["question"]), change["participant"], change["before"],
                       change["after"], change["change"]]  # fmt: skip

    def iterate_emotion_by_answer(
        self, screening: Screening, report: dict[str, Any], audience: Audience
    ) -> Iterator[Any]:
        yield [Column("question"), Column("answer"), Column("participants", INTEGER),
               *(Column(f"mean {e}", PROBABILITY) for e in EMOTIONS)]  # fmt: skip
        for table in report["emotion_by_answer"]:
            for row in table["rows"]:
                yield [spreadsheet_safe(table["question"]), spreadsheet_safe(row["answer"]), row["participants"],
                       *(row["means"][e] for e in EMOTIONS)]  # fmt: skip

    def iterate_samples(self, screening: Screening, report: dict[str, Any], audience: Audience) -> Iterator[Any]:
        yield [Column(name) for name in sample_columns(audience)]
        yield from sample_rows(screening, audience=audience)


# The number format of a metrics table's column, by the end of its name (metric_rows).
METRIC_FORMATS = {"start": SECONDS, "end": SECONDS, "viewers": INTEGER, "pairs": INTEGER, "participant": INTEGER,
                  "bins": INTEGER, "change": CHANGE, "t": "0.00", "p": "0.0000"}  # fmt: skip


def _metric_format(name: str) -> str | None:
    if name in ("scene", "curve", "label", "question"):
        return None
    return METRIC_FORMATS.get(name.rsplit("_", 1)[-1], PROBABILITY)


def _typed(header: list[str], rows: list[list[Any]]) -> Iterator[Any]:
    """A metrics table (metric_rows) as a sheet: its header as typed columns, then its rows."""
    yield [Column(name, _metric_format(name)) for name in header]
    yield from rows


def _participant_format(name: str) -> str | None:
    if name == "samples":
        return INTEGER
    if name == "face_rate":
        return SHARE
    return PROBABILITY if name.startswith("mean ") else None


def _timeline_chart(sheet: _TableSheet) -> None:
    """A line chart of each emotion's mean over media time, beside the timeline's table."""
    from openpyxl.chart import LineChart, Reference

    if not sheet.rows:
        return
    chart = LineChart()
    chart.title, chart.height, chart.width = "Emotion probability against time", 9, 22
    chart.y_axis.title, chart.x_axis.title = "probability", "media time (s)"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.y_axis.number_format = "0.0"
    chart.add_data(Reference(sheet.sheet, min_col=3, max_col=2 + len(EMOTIONS), min_row=1, max_row=sheet.rows + 1),
                   titles_from_data=True)  # fmt: skip
    chart.set_categories(Reference(sheet.sheet, min_col=1, min_row=2, max_row=sheet.rows + 1))
    for series, emotion in zip(chart.series, EMOTIONS, strict=True):
        series.graphicalProperties.line.solidFill = EMOTION_COLOURS[emotion].lstrip("#")
        series.graphicalProperties.line.width = 15_000
        series.smooth = False
    chart.legend.position = "b"
    sheet.sheet.add_chart(chart, "K2")


def _reactions_chart(sheet: _TableSheet) -> None:
    """A bar chart of the share of each dominant emotion, beside the reaction summary's table."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.marker import DataPoint

    chart = BarChart()
    chart.title, chart.height, chart.width = "Summary of reactions", 8, 14
    chart.y_axis.title, chart.y_axis.number_format = "share of faces", "0%"
    chart.y_axis.scaling.min = 0
    chart.add_data(Reference(sheet.sheet, min_col=2, min_row=1, max_row=sheet.rows + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet.sheet, min_col=1, min_row=2, max_row=sheet.rows + 1))
    for index, emotion in enumerate(EMOTIONS):
        point = DataPoint(idx=index)
        point.graphicalProperties.solidFill = EMOTION_COLOURS[emotion].lstrip("#")
        chart.series[0].dPt.append(point)
    chart.legend = None
    sheet.sheet.add_chart(chart, "D2")
