"""The printable report (PDF): charts and compact tables, each heading kept on the page of what it heads."""

from __future__ import annotations

import io
from typing import Any

from inference import EMOTIONS
from screenings.models import Screening
from screenings.reports import charts, metrics
from screenings.reports.aggregates import RANGE_DASH
from screenings.reports.builder import screening_report
from screenings.reports.exporters.base import Content, Exporter
from screenings.reports.exporters.safety import pdf_text
from screenings.reports.options import ReportOptions

# Free-text answers printed per question; the workbook and the page list all of them.
PDF_TEXT_ANSWERS = 30
CM = 72 / 2.54


class _Layout:
    """The page's measures and styles, and the small pieces every section is made of."""

    def __init__(self) -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
        from reportlab.lib.units import cm

        self.page = A4
        self.margin = 1.5 * cm
        self.width = A4[0] - 2 * self.margin
        styles = getSampleStyleSheet()
        # A heading never ends a page: it moves on with what follows it.
        self.styles = {
            "Title": styles["Title"],
            "Heading": ParagraphStyle("heading", parent=styles["Heading2"], spaceBefore=8, spaceAfter=4),
            "Subheading": ParagraphStyle("subheading", parent=styles["Heading4"], spaceBefore=4, spaceAfter=2),
            "Normal": ParagraphStyle("normal", parent=styles["Normal"], fontSize=8.5, leading=10.5),
            "Cell": ParagraphStyle("cell", parent=styles["Normal"], fontSize=7.5, leading=9),
        }
        for name in ("Heading", "Subheading"):
            self.styles[name].keepWithNext = 1

    def paragraph(self, text: str, style: str = "Normal") -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(pdf_text(text), self.styles[style])

    def image(self, png: bytes, aspect: float, *, width: float | None = None) -> Any:
        from reportlab.platypus import Image

        width = width or self.width
        return Image(io.BytesIO(png), width=width, height=width * aspect)

    def section(self, title: str, *content: Any) -> list[Any]:
        """A heading with its first piece of content, never split across pages; the rest may follow."""
        from reportlab.platypus import KeepTogether

        first, *rest = content
        return [KeepTogether([self.paragraph(title, "Heading"), first]), *rest]

    def grid(self, cells: list[Any], columns: int = 2) -> list[Any]:
        """Cells side by side, ``columns`` a row; each row is kept whole."""
        from reportlab.platypus import Table, TableStyle

        rows = [cells[index : index + columns] for index in range(0, len(cells), columns)]
        tables = []
        for row in rows:
            table = Table([row + [""] * (columns - len(row))], colWidths=[self.width / columns] * columns)
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                       ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))  # fmt: skip
            tables.append(table)
        return tables

    def table(self, rows: list[list[Any]], *, widths: list[float] | None = None) -> Any:
        """A compact table, its first row the header (repeated on a new page)."""
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        cells = [[self.paragraph(str(v), "Cell") if isinstance(v, str) and len(v) > 40 else v for v in row]
                 for row in rows]  # fmt: skip
        table = Table(cells, repeatRows=1, colWidths=widths, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                    ("LEADING", (0, 0), (-1, -1), 9),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf7")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c0c7d4")),
                ]
            )
        )
        return table


class PdfExporter(Exporter):
    """A printable report with the charts and the main tables, binned and smoothed as chosen on the page."""

    identifier = "pdf"
    verbose_name = "Report (PDF)"

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        from reportlab.platypus import SimpleDocTemplate

        report = screening_report(screening, **options.report_arguments())
        layout = _Layout()
        story = [
            *_opening(layout, screening, report), *_timeline(layout, report), *_metrics(layout, report),
            *_reactions(layout, report), *_quality(layout, report), *_answers(layout, report),
            *_emotion_by_answer(layout, report),
        ]  # fmt: skip
        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=layout.page, title=f"Reaction report: {screening.title}",
                          leftMargin=layout.margin, rightMargin=layout.margin, topMargin=layout.margin,
                          bottomMargin=layout.margin).build(story)  # fmt: skip
        return f"{screening.slug}-report.pdf", "application/pdf", buffer.getvalue()


def _opening(layout: _Layout, screening: Screening, report: dict[str, Any]) -> list[Any]:
    timeline, quality = report["timeline"], report["quality"]
    included = sum(not row["excluded"] for row in quality["participants"])
    facts = (f"{included} participants included · {quality['samples']:,} samples, {quality['faces']:,} with a face · "
             f"time bin {timeline['bin_seconds']:g} s" + (f", smoothed over {timeline['smoothing']} bins"
                                                         if timeline["smoothing"] > 1 else ""))  # fmt: skip
    steps = report["funnel_steps"]
    funnel = layout.table([[step["label"] for step in steps], [step["count"] for step in steps]])
    story = [layout.paragraph(f"Reaction report: {screening.title}", "Title"), layout.paragraph(facts)]
    if report["segment"] is not None:
        segment = report["segment"]
        rules = "; ".join(segment["described"]) or "no rules: everyone"
        story.append(layout.paragraph(f"Segment “{segment['name']}” only ({segment['participants']} participants): "
                                      f"{rules}."))  # fmt: skip
    return [*story, *layout.section("Participation", funnel)]


def _timeline(layout: _Layout, report: dict[str, Any]) -> list[Any]:
    png = charts.timeline_png(report["timeline"]["bins"])
    return layout.section("Audience emotion over the stimulus", layout.image(png, 0.4))


def _estimate_text(estimate: dict[str, Any]) -> str:
    if estimate["mean"] is None:
        return "-"
    if estimate["lower"] is None:
        return f"{estimate['mean']:.3f}"
    return f"{estimate['mean']:.3f} [{estimate['lower']:.3f}, {estimate['upper']:.3f}]"


def _metrics(layout: _Layout, report: dict[str, Any]) -> list[Any]:
    """Synchrony, the metrics per scene and the paired tests, each figure with its 95% interval."""
    curves = report["synchrony"]["curves"]
    sentence = "; ".join(f"{name} {_estimate_text(result)} over {result['viewers']} viewers"
                         for name, result in curves.items())  # fmt: skip
    story: list[Any] = [layout.paragraph(
        "Means across viewers with their 95% intervals (the report's documentation, docs/metrics.md, gives the "
        f"formulas). Audience synchrony (leave-one-out correlation of each viewer's curve with the rest): {sentence}."
    )]  # fmt: skip
    if report["metrics"]["scenes"]:
        rows = [["scene", "viewers", *metrics.CURVES]]
        for scene in report["metrics"]["scenes"]:
            rows.append([layout.paragraph(scene["scene"], "Cell"), scene["viewers"],
                         *(_estimate_text(scene[name]) for name in metrics.CURVES)])  # fmt: skip
        story.append(layout.table(rows))
    tests = [[layout.paragraph(item["question"], "Cell"), item["paired_test"]["pairs"],
              _estimate_text(item["paired_test"]), "-" if item["paired_test"]["p"] is None
              else f"{item['paired_test']['p']:.4f}"]
             for item in report["before_after"] if item.get("paired_test")]  # fmt: skip
    if tests:
        story.append(layout.paragraph("Before and after: the mean change with its 95% interval and the paired t-test."))
        story.append(layout.table([["question", "pairs", "mean change", "p"], *tests]))
    return layout.section("Metrics", *story)


def _reactions(layout: _Layout, report: dict[str, Any]) -> list[Any]:
    moments = [["emotion", "top windows (s): mean, rise above the viewers' own baseline, adjusted p"]]
    for emotion, windows in report["top_moments"].items():
        shown = "; ".join(f"{w['start']:g}{RANGE_DASH}{w['end']:g} ({w['mean']:.3f}, {w['lift']:+.3f}"
                          + ("" if w["p_adjusted"] is None else f", p {w['p_adjusted']:.3f}") + ")"
                          for w in windows) or "-"  # fmt: skip
        moments.append([emotion, layout.paragraph(shown, "Cell")])
    half = layout.width / 2
    summary = layout.image(charts.summary_png(report["reaction_summary"]), 0.58, width=half)
    moments_table = layout.table(moments, widths=[1.6 * CM, half - 2 * CM])
    story = layout.section("Summary of reactions and top moments", *layout.grid([summary, moments_table]))
    if report["scenes"]:
        story += layout.section("Scenes", layout.image(charts.scenes_png(report["scenes"]), 0.36))
    return story


def _quality(layout: _Layout, report: dict[str, Any]) -> list[Any]:
    rows = [["participant", "samples", "face rate", "flagged", "excluded"]]
    for row in report["quality"]["participants"]:
        rate = "" if row["face_rate"] is None else f"{row['face_rate']:.0%}"
        rows.append(
            [row["label"], row["samples"], rate, "yes" if row["flagged"] else "", "yes" if row["excluded"] else ""]
        )
    return layout.section("Data quality", layout.table(rows))


def _answers(layout: _Layout, report: dict[str, Any]) -> list[Any]:
    questions = report["before_after"]
    if not questions:
        return []
    half = layout.width / 2
    cells = []
    for question in questions:
        if question["shown_as"] == "list":
            continue
        cell = [layout.image(charts.distribution_png(question), 0.53, width=half - 4)]
        if question["mean_change"] is not None:
            cell.append(layout.paragraph(f"Mean change after - before: {question['mean_change']:+.2f} "
                                         f"over {len(question['changes'])} participants"))  # fmt: skip
        cells.append(cell)
    story = layout.section("Before and after", *layout.grid(cells)) if cells else []
    for question in questions:
        if question["shown_as"] == "list":
            story += _text_answers(layout, question)
    return story


def _text_answers(layout: _Layout, question: dict[str, Any]) -> list[Any]:
    """A free-text question's answers listed (the first ``PDF_TEXT_ANSWERS`` of each phase)."""
    from reportlab.platypus import KeepTogether

    rows: list[list[Any]] = [["participant", "phase", "answer"]]
    left_out = 0
    for phase, answers in question["texts"].items():
        rows += [[a["label"], phase, layout.paragraph(a["answer"], "Cell")] for a in answers[:PDF_TEXT_ANSWERS]]
        left_out += max(0, len(answers) - PDF_TEXT_ANSWERS)
    heading = layout.paragraph(question["question"], "Subheading")
    if len(rows) == 1:
        return [KeepTogether([heading, layout.paragraph("No answers yet.")])]
    story = [KeepTogether([heading, layout.table(rows, widths=[3.2 * CM, 1.4 * CM, layout.width - 4.6 * CM])])]
    if left_out:
        story.append(layout.paragraph(f"{left_out} more answers are in the workbook's answers sheet."))
    return story


def _emotion_by_answer(layout: _Layout, report: dict[str, Any]) -> list[Any]:
    tables = report["emotion_by_answer"]
    if not tables:
        return []
    half = layout.width / 2
    cells = [layout.image(charts.emotion_by_answer_png(table), 0.53, width=half - 4) for table in tables]
    rows = [["question", "answer", "n", *EMOTIONS]]
    for table in tables:
        for row in table["rows"]:
            rows.append([table["question"][:40], row["answer"][:24], row["participants"],
                         *(f"{row['means'][e]:.3f}" for e in EMOTIONS)])  # fmt: skip
    story = layout.section("Emotion and answers (mean happy while watching, by after-answer)", *layout.grid(cells))
    if len(rows) > 1:
        story += [
            layout.paragraph("Each emotion's mean while watching, by after-answer", "Subheading"),
            layout.table(rows),
        ]
    return story
