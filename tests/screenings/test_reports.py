"""Report aggregates against hand-computed values, the pages, and every download opened and read back."""

import csv
import io

import openpyxl
import pandas as pd
import pytest
from django.urls import reverse
from pypdf import PdfReader

from screenings.models import EmotionSample, Participant, Question
from screenings.reports import aggregates
from screenings.reports.builder import participant_report, screening_report
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    ParticipantFactory,
    QuestionFactory,
    SceneFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db
State = Participant.State
ZERO = dict.fromkeys(("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"), 0.0)


def probabilities(**values: float) -> dict[str, float]:
    rest = 1 - sum(values.values())
    return ZERO | {"neutral": rest} | values


def sample(participant, media_time, *, face=True, **values):
    if not face:
        return EmotionSampleFactory(
            participant=participant, media_time=media_time, face_found=False, dominant_emotion="",
            **dict.fromkeys(ZERO, None),
        )  # fmt: skip
    probs = probabilities(**values)
    return EmotionSampleFactory(
        participant=participant, media_time=media_time, dominant_emotion=max(probs, key=probs.get), **probs
    )


@pytest.fixture
def study(organizer):
    """Two included watchers, one excluded, one who declined, one only invited."""
    screening = ScreeningFactory(owner=organizer, slug="study", stimulus_duration=4.0)
    SceneFactory(screening=screening, start=0, end=2, label="Opening")
    SceneFactory(screening=screening, start=2, end=4, label="Ending")
    mood = QuestionFactory(screening=screening, phase=Question.Phase.BOTH, kind=Question.Kind.LIKERT5, text="Mood?")
    again = QuestionFactory(
        screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.SINGLE, text="Again?", choices=["Yes", "No"]
    )
    watched = "2026-01-01T00:00Z"
    first = ParticipantFactory(screening=screening, state=State.COMPLETED, external_id="A", watch_started_at=watched)
    second = ParticipantFactory(screening=screening, state=State.COMPLETED, external_id="B", watch_started_at=watched)
    excluded = ParticipantFactory(
        screening=screening, state=State.COMPLETED, excluded_from_reports=True, watch_started_at=watched
    )
    ParticipantFactory(screening=screening, state=State.DECLINED)
    ParticipantFactory(screening=screening, state=State.INVITED)
    sample(first, 0.0, happy=0.8)
    sample(first, 1.0, sad=0.6)
    sample(first, 2.0, face=False)
    sample(first, 3.0, happy=0.9)
    sample(second, 0.0, happy=0.4)
    sample(second, 1.0, surprise=0.7)
    sample(second, 3.0, happy=0.6)
    sample(excluded, 0.0, angry=1.0)
    sample(excluded, 1.0, angry=1.0)
    for participant, before, after, choice in ((first, 2, 4, "Yes"), (second, 3, 3, "No"), (excluded, 1, 5, "No")):
        AnswerFactory(participant=participant, question=mood, phase="before", value=before)
        AnswerFactory(participant=participant, question=mood, phase="after", value=after)
        AnswerFactory(participant=participant, question=again, phase="after", value=choice)
    return screening


class TestAggregates:
    def test_the_funnel_counts_each_step_reached(self, study):
        assert aggregates.funnel(study) == {
            "invited": 5, "consented": 3, "declined": 1, "before_done": 3, "watched": 3, "completed": 3, "withdrawn": 0,
        }  # fmt: skip

    def test_data_quality_flags_participants_below_the_threshold(self, study):
        rows = {row.external_id: row for row in aggregates.data_quality(study, threshold=0.8)}
        assert (rows["A"].samples, rows["A"].faces, rows["A"].face_rate) == (4, 3, 0.75)
        assert rows["A"].flagged and not rows["B"].flagged

    def test_the_timeline_averages_included_faces_per_bin(self, study):
        bins = aggregates.timeline(study)
        assert [(b.start, b.participants) for b in bins] == [(0.0, 2), (1.0, 2), (3.0, 2)]
        assert bins[0].means["happy"] == pytest.approx((0.8 + 0.4) / 2)
        assert bins[0].means["angry"] == pytest.approx(0.0)
        assert bins[1].means["sad"] == pytest.approx(0.3) and bins[1].means["surprise"] == pytest.approx(0.35)

    def test_wider_bins_and_smoothing(self, study):
        [first, second] = aggregates.timeline(study, bin_seconds=2)
        assert first.start == 0 and first.means["happy"] == pytest.approx((0.8 + 0.4) / 4)
        assert second.start == 2 and second.means["happy"] == pytest.approx(0.75)
        smoothed = aggregates.timeline(study, smoothing=3)
        assert smoothed[0].means["happy"] == pytest.approx(((0.8 + 0.4) / 2 + 0) / 2)

    def test_the_reaction_summary_shares_dominant_emotions_overall_and_per_scene(self, study):
        shares = aggregates.reaction_summary_from_stats(study, aggregates.participant_sample_stats(study))
        # Dominant: A happy, sad, happy; B neutral (0.6), surprise, happy. The excluded angry faces do not count.
        assert shares["happy"] == pytest.approx(3 / 6) and shares["neutral"] == pytest.approx(1 / 6)
        assert shares["angry"] == 0
        opening, ending = aggregates.scene_summaries(study)
        assert opening["shares"]["happy"] == pytest.approx(0.25) and opening["shares"]["sad"] == pytest.approx(0.25)
        assert ending["shares"]["happy"] == pytest.approx(1.0)
        assert ending["means"]["happy"] == pytest.approx(0.75)

    def test_before_and_after_with_each_participants_change(self, study):
        mood, again = aggregates.before_after(study)
        assert mood.distributions == {"before": {"2": 1, "3": 1}, "after": {"4": 1, "3": 1}}
        assert [c["change"] for c in mood.changes] == [2.0, 0.0] and mood.mean_change == 1.0
        assert again.distributions == {"after": {"Yes": 1, "No": 1}} and again.mean_change is None

    def test_emotion_means_beside_the_after_answers(self, study):
        tables = {t["question"]: t for t in aggregates.emotion_by_answer(study)}
        rows = {row["answer"]: row for row in tables["Again?"]["rows"]}
        assert rows["Yes"]["participants"] == 1
        assert rows["Yes"]["means"]["happy"] == pytest.approx((0.8 + 0 + 0.9) / 3)
        assert rows["No"]["means"]["happy"] == pytest.approx((0.4 + 0 + 0.6) / 3)
        assert [row["answer"] for row in tables["Mood?"]["rows"]] == ["3", "4"]

    def test_an_empty_screening_reports_without_errors(self, organizer):
        empty = ScreeningFactory(owner=organizer)
        QuestionFactory(screening=empty, kind=Question.Kind.LIKERT5)
        report = screening_report(empty)
        assert report["timeline"]["bins"] == [] and report["funnel"]["invited"] == 0
        assert all(share == 0 for share in report["reaction_summary"].values())
        assert report["before_after"][0]["distributions"] == {}


def test_a_participant_report_has_table_one_and_answers(study):
    first = study.participants.get(external_id="A")
    report = participant_report(first)
    assert report["table1"]["timestamps"] == [0.0, 1.0, 2.0, 3.0]
    assert report["table1"]["rows"]["happy"] == [1, 0, 0, 1] and report["table1"]["rows"]["sad"] == [0, 1, 0, 0]
    assert report["quality"]["face_rate"] == 0.75
    mood = next(a for a in report["answers"] if a["question"] == "Mood?")
    assert (mood["before"], mood["after"]) == (2, 4)


def test_prefer_not_to_say_reads_as_such_in_every_report_and_counts_in_no_change(organizer_client, study):
    mood = study.questions.get(text="Mood?")
    mood.allow_prefer_not = True
    mood.save(update_fields=["allow_prefer_not"])
    first = study.participants.get(external_id="A")
    first.answers.filter(question=mood, phase="after").update(value={"prefer_not_to_say": True})
    [report, _] = aggregates.before_after(study)
    assert report.distributions["after"] == {"(prefer not to say)": 1, "3": 1}
    assert [c["participant"] for c in report.changes] == [study.participants.get(external_id="B").pk]
    answers = next(a for a in participant_report(first)["answers"] if a["question"] == "Mood?")
    assert answers["after"] == "(prefer not to say)"
    page = organizer_client.get(reverse("organizer-participant", args=[study.pk, first.pk])).content.decode()
    assert "(prefer not to say)" in page and "prefer_not_to_say" not in page
    response = organizer_client.get(report_url(study, "organizer-download", "participants-csv"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["after: Mood?"] == "(prefer not to say)"
    workbook = openpyxl.load_workbook(
        io.BytesIO(organizer_client.get(report_url(study, "organizer-download", "xlsx")).content)
    )
    [header, *rows] = workbook["answers"].iter_rows(values_only=True)
    assert "(prefer not to say)" in [row[header.index("answer")] for row in rows]


def report_url(screening, name="organizer-report", *args):
    return reverse(name, args=[screening.pk, *args])


class TestPagesAndDownloads:
    def test_the_report_page_shows_every_section(self, organizer_client, study):
        page = organizer_client.get(report_url(study)).content.decode()
        for heading in ("Participation", "Audience emotion", "Summary of reactions", "Top moments", "Data quality",
                        "Before and after", "Emotion and answers"):  # fmt: skip
            assert heading in page

    def test_the_page_takes_the_same_number_of_queries_however_many_participants(self, organizer_client, study):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert organizer_client.get(report_url(study)).status_code == 200
            return len(captured)

        few = queries()
        for index in range(5):
            watcher = ParticipantFactory(screening=study, state=State.COMPLETED, watch_started_at="2026-01-01T00:00Z")
            sample(watcher, 0.0, happy=0.5)
            AnswerFactory(participant=watcher, question=study.questions.first(), phase="after", value=index % 5 + 1)
        assert queries() == few

    @pytest.mark.parametrize(
        "query", ["bin=0", "bin=abc", "smoothing=0", "smoothing=99", "threshold=101", "threshold=-1"]
    )
    def test_bad_report_options_get_a_message(self, organizer_client, study, query):
        response = organizer_client.get(report_url(study) + "?" + query)
        assert response.status_code == 400 and 'class="error"' in response.content.decode()
        assert organizer_client.get(report_url(study, "organizer-chart", "timeline") + "?" + query).status_code == 400

    @pytest.mark.parametrize("chart", ["timeline", "summary", "scenes"])
    def test_charts_are_png(self, organizer_client, study, chart):
        response = organizer_client.get(report_url(study, "organizer-chart", chart))
        assert response["Content-Type"] == "image/png" and response.content.startswith(b"\x89PNG")

    def test_question_charts_exist_for_each_question_and_not_others(self, organizer_client, study):
        question = study.questions.first()
        assert organizer_client.get(report_url(study, "organizer-chart", f"question-{question.pk}")).status_code == 200
        assert organizer_client.get(report_url(study, "organizer-chart", "question-999999")).status_code == 404

    def test_the_samples_csv_streams_every_included_sample(self, organizer_client, study):
        faces = EmotionSample.objects.filter(participant__external_id__in=["A", "B"], face_found=True)
        EmotionSample.objects.filter(pk=faces[0].pk).update(looking_at_screen=False)
        EmotionSample.objects.filter(pk=faces[1].pk).update(looking_at_screen=True)
        response = organizer_client.get(report_url(study, "organizer-download", "samples-csv"))
        assert response.streaming
        frame = pd.read_csv(io.BytesIO(b"".join(response.streaming_content)))
        assert list(frame.columns) == ["participant", "label", "external_id", "media_time", "face_found", "angry",
                                       "disgust", "fear", "happy", "sad", "surprise", "neutral",
                                       "dominant_emotion", "looking_at_screen", "scene", "model_version"]  # fmt: skip
        # 0 and 1 where the landmarks told, empty where they did not (the other samples).
        assert sorted(frame.looking_at_screen.dropna()) == [0.0, 1.0] and frame.looking_at_screen.isna().sum() == 5
        assert len(frame) == 7 and set(frame.external_id) == {"A", "B"}
        assert frame.face_found.sum() == 6 and frame.happy.max() == pytest.approx(0.9)
        assert frame.happy.isna().sum() == 1  # the frame without a face has no probabilities

    def test_the_participants_csv_has_one_row_each_with_answers_and_emotions(self, organizer_client, study):
        response = organizer_client.get(report_url(study, "organizer-download", "participants-csv"))
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [row["external_id"] for row in rows] == ["A", "B", "", ""]
        assert rows[0]["before: Mood?"] == "2" and rows[0]["after: Mood?"] == "4" and rows[0]["after: Again?"] == "Yes"
        assert float(rows[0]["mean happy"]) == pytest.approx((0.8 + 0 + 0.9) / 3, abs=1e-4)

    def test_the_workbook_has_every_sheet(self, organizer_client, study):
        response = organizer_client.get(report_url(study, "organizer-download", "xlsx"))
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        assert workbook.sheetnames == ["summary", "funnel", "reactions", "timeline", "metrics", "scene_metrics",
                                       "synchrony", "scenes", "top_moments", "quality", "participants", "answers",
                                       "distributions", "changes", "paired_tests", "emotion_by_answer",
                                       "samples"]  # fmt: skip
        assert workbook["samples"].max_row == 1 + 7
        assert [row[0].value for row in workbook["scenes"].iter_rows(min_row=2)] == ["Opening", "Ending"]
        assert workbook["answers"].max_row == 1 + 6

    def test_samples_past_a_worksheets_row_limit_point_to_the_csv(self, organizer_client, study, monkeypatch):
        monkeypatch.setattr("screenings.reports.exporters.workbook.XLSX_MAX_SAMPLE_ROWS", 3)
        response = organizer_client.get(report_url(study, "organizer-download", "xlsx"))
        sheet = openpyxl.load_workbook(io.BytesIO(response.content))["samples"]
        assert sheet.max_row == 1 + 3 + 1
        assert "download the samples CSV" in sheet.cell(row=5, column=1).value

    def test_the_pdf_holds_the_report(self, organizer_client, study):
        response = organizer_client.get(report_url(study, "organizer-download", "pdf"))
        reader = PdfReader(io.BytesIO(response.content))
        text = "".join(page.extract_text() for page in reader.pages)
        assert "Reaction report" in text and "top moments" in text and "Data quality" in text
        assert sum(len(page.images) for page in reader.pages) >= 4

    def test_downloads_of_an_empty_screening_work(self, organizer, organizer_client):
        empty = ScreeningFactory(owner=organizer)
        for identifier in ("samples-csv", "participants-csv", "xlsx", "pdf"):
            assert organizer_client.get(report_url(empty, "organizer-download", identifier)).status_code == 200

    def test_an_unknown_download_is_404(self, organizer_client, study):
        assert organizer_client.get(report_url(study, "organizer-download", "docx")).status_code == 404

    def test_excluding_a_participant_changes_every_aggregate(self, organizer_client, study):
        second = study.participants.get(external_id="B")
        response = organizer_client.post(
            report_url(study, "organizer-participant-exclusion", second.pk), {"excluded": "1"}
        )
        assert response.status_code == 302
        assert aggregates.timeline(study)[0].participants == 1
        assert (
            organizer_client.post(
                report_url(study, "organizer-participant-exclusion", second.pk), {"excluded": "maybe"}
            ).status_code
            == 400
        )

    def test_the_participant_page_shows_table_one(self, organizer_client, study):
        first = study.participants.get(external_id="A")
        page = organizer_client.get(report_url(study, "organizer-participant", first.pk)).content.decode()
        assert "Dominant emotion per timestamp" in page and "Mood?" in page
        chart = organizer_client.get(report_url(study, "organizer-participant-chart", first.pk))
        assert chart.content.startswith(b"\x89PNG")


class TestFormulaLookalikes:
    """What a participant types (a panel id, a free-text answer) never runs as a spreadsheet formula."""

    @pytest.fixture
    def crafted(self, organizer):
        screening = ScreeningFactory(owner=organizer, stimulus_duration=4.0)
        text = QuestionFactory(screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.TEXT, text="Why?")
        number = QuestionFactory(screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.NUMBER,
                                 text="How many?", min_value=-10, max_value=10)  # fmt: skip
        person = ParticipantFactory(
            screening=screening, state=State.COMPLETED, external_id='=HYPERLINK("http://evil.example")',
            watch_started_at="2026-01-01T00:00Z",
        )  # fmt: skip
        sample(person, 0.0, happy=0.9)
        AnswerFactory(participant=person, question=text, phase="after", value="+cmd|' /C calc'!A0")
        AnswerFactory(participant=person, question=number, phase="after", value=-3)
        return screening

    def test_csv_downloads_quote_them(self, organizer_client, crafted):
        samples = organizer_client.get(report_url(crafted, "organizer-download", "samples-csv"))
        [row] = csv.DictReader(io.StringIO(b"".join(samples.streaming_content).decode()))
        assert row["external_id"] == '\'=HYPERLINK("http://evil.example")'
        participants = organizer_client.get(report_url(crafted, "organizer-download", "participants-csv"))
        [row] = csv.DictReader(io.StringIO(participants.content.decode()))
        assert row["external_id"].startswith("'=") and row["after: Why?"] == "'+cmd|' /C calc'!A0"
        assert row["after: How many?"] == "-3"

    def test_the_workbook_holds_them_as_text_not_formulas(self, organizer_client, crafted):
        response = organizer_client.get(report_url(crafted, "organizer-download", "xlsx"))
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
        assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
        assert '\'=HYPERLINK("http://evil.example")' in [cell.value for cell in workbook["samples"]["C"]]


class TestSecondOrganizer:
    def test_every_report_page_chart_and_download_is_404(self, other_organizer_client, study):
        participant = study.participants.first()
        urls = [
            report_url(study),
            *(report_url(study, "organizer-chart", name) for name in ("timeline", "summary", "scenes")),
            *(
                report_url(study, "organizer-chart", f"{kind}-{q.pk}")
                for q in study.questions.all()
                for kind in ("question", "answer")
            ),
            *(report_url(study, "organizer-download", i) for i in ("samples-csv", "participants-csv", "xlsx", "pdf")),
            report_url(study, "organizer-participant", participant.pk),
            report_url(study, "organizer-participant-chart", participant.pk),
        ]
        for url in urls:
            assert other_organizer_client.get(url).status_code == 404, url
        exclusion = report_url(study, "organizer-participant-exclusion", participant.pk)
        assert other_organizer_client.post(exclusion, {"excluded": "1"}).status_code == 404
        participant.refresh_from_db()
        assert not participant.excluded_from_reports

    def test_a_participant_of_another_screening_is_404_under_mine(self, organizer, organizer_client, study):
        foreign = ParticipantFactory()
        assert organizer_client.get(report_url(study, "organizer-participant", foreign.pk)).status_code == 404


class TestReportApi:
    @pytest.fixture
    def api(self, organizer):
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(organizer)
        return client

    def test_the_report_as_json(self, api, study):
        body = api.get(f"/api/screenings/{study.pk}/report/", {"smoothing": 1}).json()
        assert body["funnel"]["completed"] == 3
        assert [b["start"] for b in body["timeline"]["bins"]] == [0.0, 1.0, 3.0]
        assert body["before_after"][0]["mean_change"] == 1.0

    def test_bad_options_are_refused_with_field_messages(self, api, study):
        response = api.get(f"/api/screenings/{study.pk}/report/", {"smoothing": "x", "bin": "-1"})
        assert response.status_code == 400 and {"smoothing", "bin"} <= set(response.json())

    def test_downloads_through_the_api(self, api, study):
        response = api.get(f"/api/screenings/{study.pk}/report/participants-csv/")
        assert response.status_code == 200 and response["Content-Type"] == "text/csv"
        assert api.get(f"/api/screenings/{study.pk}/report/nope/").status_code == 404

    def test_another_organizer_gets_404_from_the_report_api(self, other_organizer, study):
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(other_organizer)
        assert client.get(f"/api/screenings/{study.pk}/report/").status_code == 404
        for identifier in ("samples-csv", "participants-csv", "xlsx", "pdf"):
            assert client.get(f"/api/screenings/{study.pk}/report/{identifier}/").status_code == 404


def test_every_export_carries_the_participants_label(organizer_client, screening):
    import openpyxl

    participant = ParticipantFactory(screening=screening, label="panel-A-01", external_id="4711")
    EmotionSampleFactory(participant=participant)
    samples = organizer_client.get(report_url(screening, "organizer-download", "samples-csv"))
    [row] = csv.DictReader(io.StringIO(b"".join(samples.streaming_content).decode()))
    assert (row["participant"], row["label"], row["external_id"]) == (str(participant.pk), "panel-A-01", "4711")
    participants = organizer_client.get(report_url(screening, "organizer-download", "participants-csv"))
    [row] = csv.DictReader(io.StringIO(participants.content.decode()))
    assert row["label"] == "panel-A-01"
    workbook = openpyxl.load_workbook(
        io.BytesIO(organizer_client.get(report_url(screening, "organizer-download", "xlsx")).content)
    )
    assert [cell.value for cell in workbook["participants"][1]][:3] == ["participant", "label", "external_id"]
    assert workbook["participants"].cell(row=2, column=2).value == "panel-A-01"


def test_pages_show_the_label_beside_the_id(organizer_client, screening):
    participant = ParticipantFactory(screening=screening, label="panel-A-01", watch_started_at="2026-01-01T00:00Z")
    EmotionSampleFactory(participant=participant)
    report = organizer_client.get(reverse("organizer-report", args=[screening.pk])).content.decode()
    assert f"#{participant.pk} panel-A-01" in report
    page = organizer_client.get(reverse("organizer-participant", args=[screening.pk, participant.pk])).content.decode()
    assert f"#{participant.pk} panel-A-01" in page
