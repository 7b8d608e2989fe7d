"""Text that participants and organizers typed, made inert for spreadsheets and PDF markup."""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat, Left
from django.db.models.lookups import In

# A cell starting with one of these is a formula to Excel, LibreOffice and openpyxl.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text that participants (or anyone with a link) could choose, made inert in spreadsheets.

    A participant's panel id or free-text answer starting with ``=`` would otherwise run as a
    formula on the organizer's computer (CSV injection); a leading apostrophe shows it as text.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_safe_sql(field: str) -> Case:
    """spreadsheet_safe() in SQL, so the streamed samples need no Python per row."""
    return Case(When(In(Left(field, 1), list(FORMULA_STARTS)), then=Concat(Value("'"), field)), default=F(field))


def pdf_text(text: str) -> str:
    """Text for a ReportLab ``Paragraph``, shown as typed.

    A paragraph reads its text as markup: a title ``<img src="/any/file.jpg"/>`` would embed any
    image the server can read, and an unclosed ``<b>`` would fail the whole PDF.
    """
    return escape(text)
