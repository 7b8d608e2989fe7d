"""What every report download is: a small class with an identifier, a name and ``render``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from screenings.models import Screening
from screenings.reports.options import ReportOptions

Content = bytes | Iterator[bytes]


class Exporter:
    """A report format: ``render`` returns the file name, its MIME type and its content.

    ``options`` are the report options chosen on the page (bin, smoothing, threshold, and what
    is added to ``ReportOptions`` later); an exporter passes them to ``screening_report`` so
    that its figures are the page's.
    """

    identifier: ClassVar[str]
    verbose_name: ClassVar[str]

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        raise NotImplementedError
