"""The downloads a data scientist loads in one line: Parquet, a typed workbook with charts, a compact PDF,
each binned and smoothed as chosen on the page."""

import csv
import io
import math
import random
import threading
import zipfile

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from inference import EMOTIONS
from screenings import services
from screenings.models import EmotionSample, Participant
from screenings.reports.exporters import SAMPLE_COLUMNS
from screenings.selectors.sample_tables import stored_sample_batches
from tests.factories import EmotionSampleFactory, ParticipantFactory, SceneFactory, ScreeningFactory

pytestmark = pytest.mark.django_db
WATCHED = "2026-01-01T00:00Z"


def download(client, screening, identifier, query=""):
    return client.get(reverse("organizer-download", args=[screening.pk, identifier]) + query)


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def small(organizer):
    """Two viewers, one excluded; a scene over the first two seconds only; one sample without a face."""
    screening = ScreeningFactory(owner=organizer, slug="small", stimulus_duration=4.0)
    SceneFactory(screening=screening, start=0, end=2, label="Opening")
    viewer = ParticipantFactory(screening=screening, state=Participant.State.COMPLETED, external_id="=A1",
                                watch_started_at=WATCHED)  # fmt: skip
    excluded = ParticipantFactory(screening=screening, excluded_from_reports=True, watch_started_at=WATCHED)
    probabilities = dict(angry=0.0, disgust=0.0, fear=0.0, happy=0.123456, sad=0.0, surprise=0.0, neutral=0.876544)
    EmotionSampleFactory(participant=viewer, media_time=0.0, dominant_emotion="neutral", model_version="fer-v3",
                         **probabilities)  # fmt: skip
    EmotionSampleFactory(participant=viewer, media_time=1.0, model_version="fer-v3")
    EmotionSampleFactory(participant=viewer, media_time=3.0, face_found=False, dominant_emotion="",
                         model_version="fer-v4")  # fmt: skip
    EmotionSampleFactory(participant=excluded, media_time=0.0)
    EmotionSample.objects.filter(participant=viewer, media_time=1.0).update(looking_at_screen=True)
    return screening


class TestParquet:
    def test_pandas_reads_every_included_sample_with_its_types(self, organizer_client, small):
        response = download(organizer_client, small, "samples-parquet")
        assert response.streaming and response["Content-Type"] == "application/vnd.apache.parquet"
        frame = pd.read_parquet(io.BytesIO(content(response)))
        assert list(frame.columns) == SAMPLE_COLUMNS and len(frame) == 3
        dtypes = frame.dtypes.astype(str).to_dict()
        assert (dtypes["participant"], dtypes["media_time"], dtypes["happy"]) == ("int64", "float64", "float64")
        assert (dtypes["face_found"], dtypes["looking_at_screen"]) == ("bool", "boolean")
        assert pd.api.types.is_string_dtype(frame["scene"]) and pd.api.types.is_string_dtype(frame["label"])
        assert list(frame.scene) == ["Opening", "Opening", ""]
        assert list(frame.model_version) == ["fer-v3", "fer-v3", "fer-v4"]
        assert list(frame.face_found) == [True, True, False]
        assert frame.looking_at_screen.isna().tolist() == [True, False, True] and frame.looking_at_screen[1]
        # Exactly as stored: neither rounded nor given the spreadsheet apostrophe.
        assert frame.happy[0] == pytest.approx(0.123456, abs=1e-7) and frame.happy.isna().tolist()[2]
        assert set(frame.external_id) == {"=A1"}

    def test_it_is_written_and_sent_row_group_by_row_group(self, organizer_client, small, monkeypatch):
        monkeypatch.setattr("screenings.reports.exporters.parquet.PARQUET_BATCH_ROWS", 2)
        chunks = list(download(organizer_client, small, "samples-parquet").streaming_content)
        assert len(chunks) >= 3
        parquet = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
        assert parquet.metadata.num_row_groups == 2 and parquet.metadata.num_rows == 3

    # 1: only the first samples' model version gets a code on PostgreSQL, the others travel as text.
    @pytest.mark.parametrize("version_guess_rows", [1, 20_000])
    def test_every_value_is_exactly_as_stored_in_participant_and_time_order(
        self, organizer, organizer_client, monkeypatch, version_guess_rows
    ):
        """Many participants across small row groups, samples stored out of time order, probabilities
        with all their digits, NULLs beside zeros, overlapping scenes, a segment column, a dominant
        emotion outside today's choices: each cell equals the database's value, read back through the ORM."""
        monkeypatch.setattr("screenings.reports.exporters.parquet.PARQUET_BATCH_ROWS", 5)
        monkeypatch.setattr("screenings.selectors.sample_tables.VERSION_GUESS_ROWS", version_guess_rows)
        screening = ScreeningFactory(owner=organizer, stimulus_duration=10.0)
        SceneFactory(screening=screening, start=0, end=4, label="Wide")
        SceneFactory(screening=screening, start=2, end=3, label="Inside")  # overlapping: the first by start wins
        SceneFactory(screening=screening, start=6, end=8, label="")
        rng = random.Random(7)
        viewers = [ParticipantFactory(screening=screening, label=f"wave-{n % 2}", external_id=f"P{n}",
                                      watch_started_at=WATCHED) for n in range(6)]  # fmt: skip
        ParticipantFactory(screening=screening, excluded_from_reports=True, watch_started_at=WATCHED)
        for viewer in viewers:
            for media_time in rng.sample([0.0, 1.5, 2.25, 3.0, 4.0, 6.5, 9.999999999], k=5):
                face = rng.random() > 0.3
                values = {emotion: rng.random() / 3 for emotion in EMOTIONS} if face else {}
                values["dominant_emotion"] = max(values, key=values.__getitem__) if face else ""
                EmotionSampleFactory(participant=viewer, media_time=media_time, face_found=face,
                                     model_version=rng.choice(["fer-v3", "fer, v4 \"quoted\""]), **values)  # fmt: skip
        EmotionSample.objects.filter(participant=viewers[0], media_time=1.5).update(looking_at_screen=False)
        EmotionSample.objects.filter(participant=viewers[1]).update(looking_at_screen=True, sad=0.0)
        legacy = EmotionSample.objects.filter(participant=viewers[2]).first()
        EmotionSample.objects.filter(pk=legacy.pk).update(dominant_emotion="contempt")  # not among today's choices
        EmotionSample.objects.filter(participant=viewers[3]).update(model_version="")
        services.segment_create(screening=screening, name="wave one", rules=[{"label": ["wave-1"]}])

        frame = pd.read_parquet(io.BytesIO(content(download(organizer_client, screening, "samples-parquet"))))

        stored = EmotionSample.objects.filter(participant__in=viewers).order_by("participant_id", "media_time")
        assert len(frame) == stored.count() == 30
        assert {"contempt", ""} <= set(frame["dominant_emotion"]) and "" in set(frame["model_version"])
        people = {viewer.pk: viewer for viewer in viewers}
        for cells, sample in zip(frame.to_dict("records"), stored, strict=True):
            person = people[sample.participant_id]
            assert (cells["participant"], cells["label"], cells["external_id"]) == (person.pk, person.label,
                                                                                   person.external_id)  # fmt: skip
            assert cells["media_time"] == sample.media_time and cells["face_found"] == sample.face_found
            for emotion in EMOTIONS:
                value = getattr(sample, emotion)
                assert math.isnan(cells[emotion]) if value is None else cells[emotion] == value, emotion
            assert (cells["dominant_emotion"], cells["model_version"]) == (sample.dominant_emotion,
                                                                           sample.model_version)  # fmt: skip
            looking = cells["looking_at_screen"]
            assert (None if pd.isna(looking) else bool(looking)) == sample.looking_at_screen
            expected_scene = "Wide" if sample.media_time < 4 else ""
            assert cells["scene"] == expected_scene
            assert cells["segment:wave one"] == (person.label == "wave-1")

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the reader thread is PostgreSQL's path")
    def test_a_download_stopped_early_stops_its_reader_and_leaves_the_connection_usable(self, organizer):
        screening = ScreeningFactory(owner=organizer)
        for viewer in ParticipantFactory.create_batch(30, screening=screening, watch_started_at=WATCHED):
            for media_time in (0.0, 1.0, 2.0):
                EmotionSampleFactory(participant=viewer, media_time=media_time)
        batches = stored_sample_batches(screening, size=2)
        assert next(batches).num_rows == 2
        assert any(thread.name == "sample-columns-reader" for thread in threading.enumerate())
        batches.close()  # the browser went away after the first row group
        assert not any(thread.name == "sample-columns-reader" for thread in threading.enumerate())
        assert EmotionSample.objects.filter(participant__screening=screening).count() == 90
        assert sum(batch.num_rows for batch in stored_sample_batches(screening, size=64)) == 90

    def test_an_empty_screening_gives_an_empty_table_with_the_columns(self, organizer, organizer_client):
        frame = pd.read_parquet(io.BytesIO(content(download(organizer_client, ScreeningFactory(owner=organizer),
                                                            "samples-parquet"))))  # fmt: skip
        assert list(frame.columns) == SAMPLE_COLUMNS and len(frame) == 0

    def test_the_samples_csv_has_the_same_new_columns_at_the_end(self, organizer_client, small):
        rows = list(csv.DictReader(io.StringIO(content(download(organizer_client, small, "samples-csv")).decode())))
        assert list(rows[0])[-2:] == ["scene", "model_version"]
        assert [(row["scene"], row["model_version"]) for row in rows] == [
            ("Opening", "fer-v3"), ("Opening", "fer-v3"), ("", "fer-v4"),
        ]  # fmt: skip


def workbook_of(client, screening, query=""):
    response = download(client, screening, "xlsx", query)
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content)), response.content


def column(sheet, name):
    header = [cell.value for cell in sheet[1]]
    return [row[header.index(name)] for row in sheet.iter_rows(min_row=2)]


class TestWorkbook:
    def test_numbers_are_numbers_in_their_formats(self, organizer_client, trailer):
        workbook, _ = workbook_of(organizer_client, trailer)
        films = column(workbook["participants"], "before: Films a month?")
        assert [cell.value for cell in films] == [27, 3, 12] and {cell.data_type for cell in films} == {"n"}
        assert {cell.number_format for cell in column(workbook["participants"], "face_rate")} == {"0.0%"}
        assert {cell.number_format for cell in column(workbook["participants"], "mean happy")} == {"0.000"}
        assert {cell.number_format for cell in column(workbook["timeline"], "happy")} == {"0.000"}
        assert {cell.number_format for cell in column(workbook["reactions"], "share of faces")} == {"0.0%"}
        answers = workbook["answers"]
        assert 27 in [cell.value for cell in column(answers, "answer")]
        assert all(cell.is_date for cell in column(answers, "answered at (UTC)"))
        summary = {row[0].value: row[1] for row in workbook["summary"].iter_rows(min_row=2)}
        assert summary["exported at (UTC)"].is_date and summary["samples"].value == 360
        assert summary["face-found threshold"].number_format == "0.0%"

    def test_each_sheet_is_one_named_table_with_its_header(self, organizer_client, trailer):
        workbook, _ = workbook_of(organizer_client, trailer)
        for sheet in workbook:
            [name] = sheet.tables
            assert sheet.tables[name].ref.startswith("A1:"), sheet.title
        assert workbook["timeline"].tables["Timeline"].ref == "A1:I121"

    def test_the_timeline_and_the_reactions_have_native_charts(self, organizer_client, trailer):
        _, raw = workbook_of(organizer_client, trailer)
        archive = zipfile.ZipFile(io.BytesIO(raw))
        charts = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert any(
            "<lineChart>" in chart and chart.count("<ser>") == 7 and "'timeline'!$C$2:$C$121" in chart
            for chart in charts
        )
        assert any("<barChart>" in chart and "'reactions'!$B$2:$B$8" in chart for chart in charts)

    def test_the_bin_and_smoothing_chosen_reach_the_timeline_sheet(self, organizer_client, trailer):
        workbook, _ = workbook_of(organizer_client, trailer, "?bin=5&smoothing=3")
        starts = [cell.value for cell in column(workbook["timeline"], "start (s)")]
        assert starts[:3] == [0, 5, 10] and len(starts) == 24
        summary = {row[0].value: row[1].value for row in workbook["summary"].iter_rows(min_row=2)}
        assert (summary["time bin (s)"], summary["smoothing (bins)"]) == (5, 3)
        default, _ = workbook_of(organizer_client, trailer)
        assert default["timeline"].max_row == 1 + 120

    def test_the_api_download_takes_the_options_too(self, api, trailer):
        response = api.get(f"/api/screenings/{trailer.pk}/report/xlsx/", {"bin": 10})
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        assert workbook["timeline"].max_row == 1 + 12


class TestOptions:
    @pytest.mark.parametrize("query", ["bin=0.5", "bin=abc", "smoothing=0", "threshold=101"])
    @pytest.mark.parametrize("identifier", ["xlsx", "pdf", "samples-parquet", "samples-csv"])
    def test_bad_options_are_refused_with_400(self, organizer_client, api, small, query, identifier):
        response = download(organizer_client, small, identifier, "?" + query)
        assert response.status_code == 400 and b"bad report options" in response.content
        key = query.split("=")[0]
        response = api.get(f"/api/screenings/{small.pk}/report/{identifier}/?{query}")
        assert response.status_code == 400 and key in response.json()

    def test_the_pages_download_links_carry_the_chosen_options(self, organizer_client, small):
        page = organizer_client.get(reverse("organizer-report", args=[small.pk]) + "?bin=2&smoothing=3").content
        for identifier in ("xlsx", "pdf", "samples-parquet"):
            href = reverse("organizer-download", args=[small.pk, identifier]) + "?bin=2&amp;smoothing=3"
            assert f'href="{href}"'.encode() in page


class TestPdf:
    # Headings followed by text (a heading followed by a chart ends its page's text even when the chart is below it).
    HEADINGS = ("Participation", "Summary of reactions and top moments", "Data quality", "What stayed with you?")

    def test_three_viewers_fit_on_three_pages_with_no_heading_left_at_a_page_end(self, organizer_client, trailer):
        reader = PdfReader(io.BytesIO(download(organizer_client, trailer, "pdf").content))
        assert len(reader.pages) <= 3
        texts = [page.extract_text().strip() for page in reader.pages]
        for text in texts:
            assert not text.endswith(self.HEADINGS), text[-80:]
        whole = "\n".join(texts)
        assert "Before done" in whole and "before_done" not in whole
        assert "The reveal, and the music." in whole  # free text is listed
        assert "time bin 1 s" in whole

    def test_the_pdf_takes_the_bin_chosen(self, organizer_client, trailer):
        reader = PdfReader(io.BytesIO(download(organizer_client, trailer, "pdf", "?bin=5&smoothing=3").content))
        assert "time bin 5 s, smoothed over 3 bins" in reader.pages[0].extract_text()


class TestSecondOrganizer:
    def test_every_new_download_is_404(self, other_organizer_client, other_api, small):
        for identifier in ("samples-parquet", "xlsx", "pdf"):
            for query in ("", "?bin=2", "?bin=0.5"):
                response = download(other_organizer_client, small, identifier, query)
                assert response.status_code == 404, (identifier, query)
                response = other_api.get(f"/api/screenings/{small.pk}/report/{identifier}/{query}")
                assert response.status_code == 404, (identifier, query)
