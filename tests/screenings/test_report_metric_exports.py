"""The metrics in the downloads: the metrics CSV, the workbook's sheets and the PDF, as the report has them."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse
from pypdf import PdfReader

from screenings.models import Answer, Question
from screenings.reports.builder import screening_report
from tests.factories import QuestionFactory
from tests.screenings.test_report_metrics import viewers  # noqa: F401 (the three viewers computed by hand)

pytestmark = pytest.mark.django_db


def download(client, screening, identifier: str, query: str = ""):  # type: ignore[no-untyped-def]
    return client.get(reverse("organizer-download", args=[screening.pk, identifier]) + query)


def content(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def asked_twice(screening, viewers):  # type: ignore[no-untyped-def]  # noqa: F811
    question = QuestionFactory(screening=screening, kind=Question.Kind.NUMBER, phase=Question.Phase.BOTH,
                               text="How likely are you to see it?")  # fmt: skip
    for label, (before, after) in {"A": (3, 4), "B": (2, 4), "C": (1, 5)}.items():
        for phase, value in (("before", before), ("after", after)):
            Answer.objects.create(participant=viewers[label], question=question, phase=phase, value=value)
    return question


def test_the_metrics_csv_has_each_bin_of_the_chosen_bin_with_its_interval(organizer_client, screening, viewers):  # noqa: F811
    response = download(organizer_client, screening, "metrics-csv", "?bin=2")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(content(response).decode())))
    expected = screening_report(screening, bin_seconds=2.0)["metrics"]["bins"]
    assert [float(row["start"]) for row in rows] == [0.0, 2.0]
    assert float(rows[0]["valence"]) == pytest.approx(expected[0]["valence"]["mean"])
    assert float(rows[0]["valence_lower"]) == pytest.approx(expected[0]["valence"]["lower"])
    assert int(rows[0]["valence_viewers"]) == 3 and int(rows[0]["viewers"]) == 3


def test_the_workbook_has_the_metrics_as_typed_numbers(organizer_client, screening, viewers, asked_twice):  # noqa: F811
    workbook = openpyxl.load_workbook(io.BytesIO(download(organizer_client, screening, "xlsx").content))
    sheet = workbook["metrics"]
    header = [cell.value for cell in sheet[1]]
    first = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert isinstance(first["valence"], float) and isinstance(first["viewers"], int)
    assert sheet.cell(row=2, column=header.index("valence") + 1).number_format == "0.000"
    synchrony = [[cell.value for cell in row] for row in workbook["synchrony"].iter_rows(min_row=2)]
    assert {row[2] for row in synchrony if row[1] is None} == {"audience"}
    [test] = [[cell.value for cell in row] for row in workbook["paired_tests"].iter_rows(min_row=2)]
    assert test[0] == "How likely are you to see it?" and test[1] == 3 and test[2] == pytest.approx(7 / 3)


def test_the_pdf_states_the_synchrony_and_the_paired_test(organizer_client, screening, viewers, asked_twice):  # noqa: F811
    reader = PdfReader(io.BytesIO(download(organizer_client, screening, "pdf").content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Metrics" in text and "Audience synchrony" in text
    assert "How likely are you to see it?" in text and "2.333" in text


def test_another_organizer_cannot_download_the_metrics(other_organizer_client, screening, viewers):  # noqa: F811
    assert download(other_organizer_client, screening, "metrics-csv").status_code == 404
