"""Report downloads, one small class per format: ``render(screening) -> (filename, mimetype, content)``.

``content`` is bytes, or an iterator of bytes for exports that stream (the samples CSV),
so a screening of any size never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from django.db import connection
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Cast, Concat, Left, Round
from django.db.models.lookups import In

from inference import EMOTIONS
from screenings.models import Question, Screening
from screenings.reports import aggregates, charts
from screenings.reports.builder import screening_report
from screenings.rules.questions import PREFER_NOT_TO_SAY_TEXT, is_prefer_not
from screenings.selectors import reports as selectors

SAMPLE_COLUMNS = [
    "participant", "label", "external_id", "media_time", "face_found", *EMOTIONS, "dominant_emotion",
    "looking_at_screen",
]  # fmt: skip
SAMPLE_DECIMALS = 4
# A worksheet holds 1,048,576 rows: the header, the samples and a closing note.
XLSX_MAX_SAMPLE_ROWS = 1_048_576 - 2
# A cell starting with one of these is a formula to Excel, LibreOffice and openpyxl.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe_sql(field: str) -> Case:
    """spreadsheet_safe() in SQL, so the streamed samples need no Python per row."""
    return Case(When(In(Left(field, 1), list(FORMULA_STARTS)), then=Concat(Value("'"), field)), default=F(field))


SAFE_EXTERNAL_ID = _spreadsheet_safe_sql("participant__external_id")
SAFE_LABEL = _spreadsheet_safe_sql("participant__label")
Content = bytes | Iterator[bytes]


def _csv_rows(rows: Sequence[Iterable[Any]]) -> Iterator[bytes]:
    yield from _csv_batches([rows])


def _csv_batches(batches: Iterable[Sequence[Iterable[Any]]]) -> Iterator[bytes]:
    """Each batch of rows as one chunk of CSV; ``writerows`` loops in C, not row by row in Python."""
    for rows in batches:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        yield buffer.getvalue().encode()


def spreadsheet_safe(text: str) -> str:
    """Text that participants (or anyone with a link) could choose, made inert in spreadsheets.

    A participant's panel id or free-text answer starting with ``=`` would otherwise run as a
    formula on the organizer's computer (CSV injection); a leading apostrophe shows it as text.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def pdf_text(text: str) -> str:
    """Text for a ReportLab ``Paragraph``, shown as typed.

    A paragraph reads its text as markup: a title ``<img src="/any/file.jpg"/>`` would embed any
    image the server can read, and an unclosed ``<b>`` would fail the whole PDF.
    """
    return escape(text)


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if is_prefer_not(value):
        return PREFER_NOT_TO_SAY_TEXT
    if isinstance(value, list):
        return "; ".join(spreadsheet_safe(str(item)) for item in value)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)


def sample_batches(screening: Screening, *, size: int = 10_000) -> Iterator[list[tuple]]:
    """Every included sample as rows of SAMPLE_COLUMNS, ``size`` rows at a time, straight from the database.

    The database rounds the probabilities and turns face_found and looking_at_screen into 0 or 1
    (looking_at_screen empty where it is not known), and the rows go
    to the CSV writer as the cursor returns them: at hundreds of thousands of samples, doing
    either per row in Python would cost more than the query. PostgreSQL reads through a
    server-side cursor, so memory stays flat whatever the size.
    """
    queryset = (
        selectors.included_samples(screening)
        .order_by("participant_id", "media_time")
        .values_list(
            "participant_id", SAFE_LABEL, SAFE_EXTERNAL_ID, "media_time", Cast("face_found", IntegerField()),
            *(Round(emotion, SAMPLE_DECIMALS) for emotion in EMOTIONS), "dominant_emotion",
            Cast("looking_at_screen", IntegerField()),
        )
    )  # fmt: skip
    sql, params = queryset.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows


def sample_rows(screening: Screening) -> Iterator[tuple]:
    """Every included sample as a row of SAMPLE_COLUMNS."""
    for batch in sample_batches(screening):
        yield from batch


def participant_rows(screening: Screening) -> tuple[list[str], list[list[Any]]]:
    """One row per included participant: before answers, emotion summary, after answers."""
    questions = selectors.screening_questions(screening)
    before = [q for q in questions if q.asked_in(Question.Phase.BEFORE)]
    after = [q for q in questions if q.asked_in(Question.Phase.AFTER)]
    stats = selectors.participant_sample_stats(screening)
    quality = {row.participant_id: row for row in aggregates.data_quality(screening, stats=stats)}
    means = aggregates.emotion_means_by_participant(screening, stats=stats)
    answers = selectors.answer_values(screening)
    header = ["participant", "label", "external_id", "state", "samples", "face_rate"]
    header += [f"before: {q.text}" for q in before] + [f"mean {e}" for e in EMOTIONS]
    header += [f"after: {q.text}" for q in after]
    rows = []
    for participant in selectors.included_participants(screening):
        row_quality = quality.get(participant.pk)
        face_rate = row_quality.face_rate if row_quality else None
        emotion = means.get(participant.pk, {})
        row: list[Any] = [
            participant.pk,
            spreadsheet_safe(participant.label),
            spreadsheet_safe(participant.external_id),
        ]
        row.append(participant.state)
        row += [row_quality.samples if row_quality else 0, "" if face_rate is None else round(face_rate, 4)]
        row += [_value_text(answers.get((participant.pk, q.pk, "before"))) for q in before]
        row += [round(emotion[e], 4) if e in emotion else "" for e in EMOTIONS]
        row += [_value_text(answers.get((participant.pk, q.pk, "after"))) for q in after]
        rows.append(row)
    return header, rows


class Exporter:
    """A report format: ``render`` returns the file name, its MIME type and its content."""

    identifier: ClassVar[str]
    verbose_name: ClassVar[str]

    def render(self, screening: Screening) -> tuple[str, str, Content]:
        raise NotImplementedError


class SamplesCsvExporter(Exporter):
    """Every sample, one row each; streamed."""

    identifier = "samples-csv"
    verbose_name = "Samples (CSV)"

    def render(self, screening: Screening) -> tuple[str, str, Content]:
        def stream() -> Iterator[bytes]:
            yield from _csv_rows([SAMPLE_COLUMNS])
            yield from _csv_batches(sample_batches(screening))

        return f"{screening.slug}-samples.csv", "text/csv", stream()


class ParticipantsCsvExporter(Exporter):
    """One row per participant: before answers, emotion summary, after answers."""

    identifier = "participants-csv"
    verbose_name = "Participants (CSV)"

    def render(self, screening: Screening) -> tuple[str, str, Content]:
        header, rows = participant_rows(screening)
        return f"{screening.slug}-participants.csv", "text/csv", b"".join(_csv_rows([header, *rows]))


class _TextSafeSheet:
    """A write-only worksheet that takes any text: characters a workbook cannot hold become U+FFFD.

    XML 1.0, and so XLSX, has no place for most control characters (a participant can type
    U+0007 into a free-text answer or a panel id); openpyxl refuses the whole workbook for
    one. They are shown as the replacement character, so the cell says something was there;
    the CSV downloads keep the text exactly.
    """

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self._sheet = sheet
        self._illegal = ILLEGAL_CHARACTERS_RE

    def append(self, row: Iterable[Any]) -> None:
        illegal = self._illegal
        self._sheet.append(
            [
                illegal.sub("\ufffd", value) if isinstance(value, str) and illegal.search(value) else value
                for value in row
            ]
        )


class XlsxExporter(Exporter):
    """A workbook with the sheets summary, timeline, scenes, participants, answers, samples."""

    identifier = "xlsx"
    verbose_name = "Workbook (XLSX)"

    def render(self, screening: Screening) -> tuple[str, str, Content]:
        from openpyxl import Workbook

        report = screening_report(screening)
        workbook = Workbook(write_only=True)

        def create_sheet(name: str) -> _TextSafeSheet:
            return _TextSafeSheet(workbook.create_sheet(name))

        summary = create_sheet("summary")
        summary.append(["screening", spreadsheet_safe(screening.title)])
        for step, count in report["funnel"].items():
            summary.append([step, count])
        summary.append([])
        summary.append(["emotion", "share of samples"])
        for emotion, share in report["reaction_summary"].items():
            summary.append([emotion, share])
        timeline = create_sheet("timeline")
        timeline.append(["start", "participants", *EMOTIONS])
        for point in report["timeline"]["bins"]:
            timeline.append([point["start"], point["participants"], *(point[e] for e in EMOTIONS)])
        scenes = create_sheet("scenes")
        scenes.append(["scene", "start", "end", *(f"share {e}" for e in EMOTIONS), *(f"mean {e}" for e in EMOTIONS)])
        for scene in report["scenes"]:
            shares = [scene["shares"][e] for e in EMOTIONS]
            label = spreadsheet_safe(scene["label"])
            scenes.append([label, scene["start"], scene["end"], *shares, *(scene["means"][e] for e in EMOTIONS)])
        participants = create_sheet("participants")
        header, rows = participant_rows(screening)
        for row in [header, *rows]:
            participants.append(row)
        answers = create_sheet("answers")
        answers.append(["participant", "label", "external_id", "phase", "question", "answer"])
        for answer in selectors.included_answers(screening):
            answers.append(
                [answer.participant_id, spreadsheet_safe(answer.participant.label),
                 spreadsheet_safe(answer.participant.external_id), answer.phase,
                 spreadsheet_safe(answer.question.text), _value_text(answer.value)]
            )  # fmt: skip
        samples = create_sheet("samples")
        samples.append(SAMPLE_COLUMNS)
        for index, row in enumerate(sample_rows(screening)):
            if index == XLSX_MAX_SAMPLE_ROWS:
                # A spreadsheet past its row limit does not open at all; the CSV has no limit.
                samples.append([f"Only the first {XLSX_MAX_SAMPLE_ROWS:,} samples fit in a workbook: "
                                "download the samples CSV for all of them."])  # fmt: skip
                break
            samples.append(list(row))
        buffer = io.BytesIO()
        workbook.save(buffer)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return f"{screening.slug}-report.xlsx", mimetype, buffer.getvalue()


class PdfExporter(Exporter):
    """A printable report with the charts and the main tables."""

    identifier = "pdf"
    verbose_name = "Report (PDF)"

    def render(self, screening: Screening) -> tuple[str, str, Content]:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import getSampleStyleSheet
        from reportlab.lib.units import cm
        from reportlab.platypus import Image, Paragraph, SimpleDocTemplate

        report = screening_report(screening)
        styles = getSampleStyleSheet()
        width = A4[0] - 4 * cm

        def image(png: bytes, aspect: float) -> Image:
            return Image(io.BytesIO(png), width=width, height=width * aspect)

        def paragraph(text: str, style: str = "Normal") -> Paragraph:
            return Paragraph(pdf_text(text), styles[style])

        def heading(text: str) -> Paragraph:
            return paragraph(text, "Heading2")

        funnel = report["funnel"]
        story: list[Any] = [paragraph(f"Reaction report: {screening.title}", "Title")]
        story += [heading("Participation"), _pdf_table([list(funnel), list(funnel.values())])]
        story += [
            heading("Audience emotion over the stimulus"),
            image(charts.timeline_png(report["timeline"]["bins"]), 0.4),
        ]
        story += [heading("Summary of reactions"), image(charts.summary_png(report["reaction_summary"]), 0.58)]
        if report["scenes"]:
            story += [heading("Scenes"), image(charts.scenes_png(report["scenes"]), 0.42)]
        moments = [["emotion", "window (s)", "mean"]]
        for emotion, windows in report["top_moments"].items():
            moments += [[emotion, f"{w['start']:.1f}-{w['end']:.1f}", f"{w['mean']:.3f}"] for w in windows[:1]]
        story += [heading("Top moments"), _pdf_table(moments)]
        quality = [["participant", "samples", "face rate", "flagged", "excluded"]]
        for row in report["quality"]["participants"]:
            rate = "" if row["face_rate"] is None else f"{row['face_rate']:.0%}"
            flags = ["yes" if row["flagged"] else "", "yes" if row["excluded"] else ""]
            quality.append([row["label"], row["samples"], rate, *flags])
        story += [heading("Data quality"), _pdf_table(quality), heading("Before and after")]
        for question in report["before_after"]:
            story.append(image(charts.distribution_png(question), 0.53))
            if question["mean_change"] is not None:
                story.append(paragraph(f"Mean change after - before: {question['mean_change']:+.2f}"))
        if report["emotion_by_answer"]:
            story.append(heading("Emotion and answers"))
        for table in report["emotion_by_answer"]:
            story.append(image(charts.emotion_by_answer_png(table), 0.53))
        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=A4, title=f"Reaction report: {screening.title}").build(story)
        return f"{screening.slug}-report.pdf", "application/pdf", buffer.getvalue()


def _pdf_table(rows: list[list[Any]]) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf7")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c0c7d4")),
            ]
        )
    )
    return table


EXPORTERS: dict[str, Exporter] = {
    exporter.identifier: exporter
    for exporter in (SamplesCsvExporter(), ParticipantsCsvExporter(), XlsxExporter(), PdfExporter())
}
