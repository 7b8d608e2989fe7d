"""Report downloads, one small class per format: ``render(screening, options) -> (filename, mimetype, content)``.

``content`` is bytes, or an iterator of bytes for exports that stream (the samples CSV and
Parquet), so a screening of any size never sits in memory whole. ``options`` are the report
options chosen on the page (``ReportOptions``).
"""

from __future__ import annotations

from screenings.reports.exporters.base import Content, Exporter
from screenings.reports.exporters.csv_files import MetricsCsvExporter, ParticipantsCsvExporter, SamplesCsvExporter
from screenings.reports.exporters.document import PdfExporter
from screenings.reports.exporters.parquet import SamplesParquetExporter
from screenings.reports.exporters.rows import SAMPLE_COLUMNS, sample_batches
from screenings.reports.exporters.safety import pdf_text, spreadsheet_safe
from screenings.reports.exporters.workbook import XlsxExporter

EXPORTERS: dict[str, Exporter] = {
    exporter.identifier: exporter
    for exporter in (
        SamplesCsvExporter(), SamplesParquetExporter(), ParticipantsCsvExporter(), MetricsCsvExporter(),
        XlsxExporter(), PdfExporter(),
    )
}  # fmt: skip

__all__ = ["EXPORTERS", "SAMPLE_COLUMNS", "Content", "Exporter", "pdf_text", "sample_batches", "spreadsheet_safe"]
