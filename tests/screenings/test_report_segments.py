"""A report restricted to a segment: every aggregate counts only its members, and so does every download."""

import csv
import io

import openpyxl
import pandas as pd
import pytest
from django.urls import reverse
from pypdf import PdfReader

from screenings import services
from screenings.models import Participant
from screenings.reports.builder import screening_report
from screenings.reports.exporters import SAMPLE_COLUMNS
from tests.factories import ScreeningFactory
from tests.screenings.report_fixtures import DURATION, _probabilities

pytestmark = pytest.mark.django_db
# Figures that count only the included participants: a segment's report has them as if the others were excluded.
AUDIENCE_FIGURES = (
    "timeline",
    "reaction_summary",
    "scenes",
    "top_moments",
    "before_after",
    "emotion_by_answer",
    "metrics",
    "synchrony",
)


def rounded(value):
    """``value`` with every float rounded to 9 places: sums taken in another order differ in the last bits."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def download(client, screening, identifier, query=""):
    return client.get(reverse("organizer-download", args=[screening.pk, identifier]) + query)


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_table(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content(response).decode())))


def panel_ids(screening) -> dict[int, str]:
    return dict(screening.participants.values_list("pk", "external_id"))


class TestRestrictedAggregates:
    def test_the_timeline_is_the_mean_of_the_members_faces(self, trailer, keen):
        report = screening_report(trailer, segment=keen)
        first = report["timeline"]["bins"][0]
        # P1 and P3 are viewers 0 and 2 of the fixture's curves.
        expected = (_probabilities(0, 0)["happy"] + _probabilities(2, 0)["happy"]) / 2
        assert first["participants"] == 2 and first["happy"] == pytest.approx(expected)
        assert len(report["timeline"]["bins"]) == DURATION

    def test_the_funnel_quality_and_totals_count_the_members(self, trailer, keen):
        report = screening_report(trailer, segment=keen)
        assert report["funnel"]["invited"] == report["funnel"]["completed"] == 2
        assert {row["external_id"] for row in report["quality"]["participants"]} == {"P1", "P3"}
        assert (report["quality"]["samples"], report["quality"]["faces"]) == (2 * DURATION, 2 * DURATION)
        described = ["“Would you watch it?” (after) is Yes"]
        assert report["segment"] == {"id": keen.pk, "name": "Keen", "rules": keen.rules, "described": described,
                                     "participants": 2}  # fmt: skip

    # Keen holds most of the audience (the others' samples are subtracted from the totals), Unsure the
    # fewest (its members' samples are summed): both must give what excluding the others gives.
    @pytest.mark.parametrize(("name", "others"), [("keen", ["P2"]), ("unsure", ["P1", "P3"])])
    def test_every_figure_is_the_one_the_others_excluded_would_give(self, request, trailer, name, others):
        segment = request.getfixturevalue(name)
        restricted = screening_report(trailer, segment=segment, bin_seconds=5, smoothing=3)
        Participant.objects.filter(external_id__in=others).update(excluded_from_reports=True)
        without_others = screening_report(trailer, bin_seconds=5, smoothing=3)
        for figure in AUDIENCE_FIGURES:
            assert rounded(restricted[figure]) == rounded(without_others[figure]), figure

    def test_answers_are_the_members_answers(self, trailer, keen):
        report = screening_report(trailer, segment=keen)
        mood = next(item for item in report["before_after"] if item["question"] == "How do you feel?")
        assert mood["distributions"]["before"] == {"2": 1, "4": 1}
        assert mood["mean_change"] == pytest.approx(((4 - 2) + (5 - 4)) / 2)
        again = next(table for table in report["emotion_by_answer"] if table["question"] == "Would you watch it?")
        assert [(row["answer"], row["participants"]) for row in again["rows"]] == [("Yes", 2)]

    def test_an_excluded_member_stays_out_of_the_figures(self, trailer, keen):
        Participant.objects.filter(external_id="P3").update(excluded_from_reports=True)
        report = screening_report(trailer, segment=keen)
        assert report["timeline"]["bins"][0]["participants"] == 1
        assert report["timeline"]["bins"][0]["happy"] == pytest.approx(_probabilities(0, 0)["happy"])

    def test_a_segment_nobody_meets_reports_nothing_without_errors(self, trailer):
        nobody = services.segment_create(screening=trailer, name="Nobody", rules=[{"panel_id": ["P9"]}])
        report = screening_report(trailer, segment=nobody)
        assert report["timeline"]["bins"] == [] and report["funnel"]["invited"] == 0
        assert report["segment"]["participants"] == 0


class TestRestrictedDownloads:
    def test_the_samples_csv_holds_only_the_members_samples(self, organizer_client, trailer, keen):
        rows = csv_table(download(organizer_client, trailer, "samples-csv", f"?segment={keen.pk}"))
        assert len(rows) == 2 * DURATION and {row["external_id"] for row in rows} == {"P1", "P3"}

    def test_the_parquet_holds_only_the_members_samples(self, organizer_client, trailer, keen):
        frame = pd.read_parquet(io.BytesIO(content(download(organizer_client, trailer, "samples-parquet",
                                                            f"?segment={keen.pk}"))))  # fmt: skip
        assert len(frame) == 2 * DURATION and set(frame["external_id"]) == {"P1", "P3"}

    def test_the_participants_csv_holds_only_the_members(self, organizer_client, trailer, keen):
        rows = csv_table(download(organizer_client, trailer, "participants-csv", f"?segment={keen.pk}"))
        assert [row["external_id"] for row in rows] == ["P1", "P3"]

    def test_the_workbook_follows_the_segment_bin_and_smoothing(self, organizer_client, trailer, keen):
        response = download(organizer_client, trailer, "xlsx", f"?segment={keen.pk}&bin=5&smoothing=3")
        workbook = openpyxl.load_workbook(io.BytesIO(content(response)))
        timeline = list(workbook["timeline"].iter_rows(min_row=2, values_only=True))
        assert len(timeline) == DURATION / 5 and {row[1] for row in timeline} == {2}
        expected = screening_report(trailer, segment=keen, bin_seconds=5, smoothing=3)["timeline"]["bins"]
        assert [row[5] for row in timeline] == pytest.approx([point["happy"] for point in expected])
        summary = dict(workbook["summary"].iter_rows(min_row=2, values_only=True))
        assert (summary["participants included"], summary["segment"]) == (2, "Keen")
        assert workbook["samples"].max_row == 1 + 2 * DURATION
        assert workbook["participants"].max_row == 1 + 2
        assert {row[2] for row in workbook["answers"].iter_rows(min_row=2, values_only=True)} == {"P1", "P3"}

    def test_the_pdf_names_the_segment_and_counts_its_members(self, organizer_client, trailer, keen):
        response = download(organizer_client, trailer, "pdf", f"?segment={keen.pk}")
        text = PdfReader(io.BytesIO(content(response))).pages[0].extract_text()
        assert "Segment “Keen” only (2 participants)" in text and "2 participants included" in text

    def test_a_segment_of_another_screening_is_refused(self, organizer_client, trailer, organizer):
        other = services.segment_create(screening=ScreeningFactory(owner=organizer), name="Other", rules=[])
        for identifier in ("samples-csv", "samples-parquet", "participants-csv", "xlsx", "pdf"):
            response = download(organizer_client, trailer, identifier, f"?segment={other.pk}")
            assert response.status_code == 400 and b"has no segment" in response.content

    def test_another_organizer_gets_404_for_every_download_of_a_segment(self, other_organizer_client, trailer, keen):
        for identifier in ("samples-csv", "samples-parquet", "participants-csv", "xlsx", "pdf"):
            assert download(other_organizer_client, trailer, identifier, f"?segment={keen.pk}").status_code == 404


class TestMembershipColumns:
    def test_the_samples_csv_has_a_column_per_saved_segment(self, organizer_client, trailer, keen, unsure):
        rows = csv_table(download(organizer_client, trailer, "samples-csv"))
        assert list(rows[0]) == [*SAMPLE_COLUMNS, "segment:Keen", "segment:Unsure"]
        by_viewer = {(row["external_id"], row["segment:Keen"], row["segment:Unsure"]) for row in rows}
        assert by_viewer == {("P1", "1", "0"), ("P2", "0", "1"), ("P3", "1", "0")}

    def test_parquet_membership_columns_are_booleans(self, organizer_client, trailer, keen, unsure):
        frame = pd.read_parquet(io.BytesIO(content(download(organizer_client, trailer, "samples-parquet"))))
        assert list(frame.columns) == [*SAMPLE_COLUMNS, "segment:Keen", "segment:Unsure"]
        assert str(frame["segment:Keen"].dtype) == "bool"
        assert set(frame.loc[frame["segment:Keen"], "external_id"]) == {"P1", "P3"}

    def test_a_restricted_download_still_says_every_segments_membership(self, organizer_client, trailer, keen, unsure):
        frame = pd.read_parquet(io.BytesIO(content(download(organizer_client, trailer, "samples-parquet",
                                                            f"?segment={keen.pk}"))))  # fmt: skip
        assert frame["segment:Keen"].all() and not frame["segment:Unsure"].any()

    def test_the_participants_csv_and_workbook_have_the_columns_too(self, organizer_client, trailer, keen, unsure):
        rows = csv_table(download(organizer_client, trailer, "participants-csv"))
        assert [(row["external_id"], row["segment:Keen"]) for row in rows] == [("P1", "True"), ("P2", "False"),
                                                                                ("P3", "True")]  # fmt: skip
        workbook = openpyxl.load_workbook(io.BytesIO(content(download(organizer_client, trailer, "xlsx"))))
        header = next(workbook["samples"].iter_rows(max_row=1, values_only=True))
        assert header[-2:] == ("segment:Keen", "segment:Unsure")

    def test_a_segment_nobody_meets_is_a_column_of_zeros(self, organizer_client, trailer):
        services.segment_create(screening=trailer, name="Nobody", rules=[{"panel_id": ["P9"]}])
        rows = csv_table(download(organizer_client, trailer, "samples-csv"))
        assert {row["segment:Nobody"] for row in rows} == {"0"}
