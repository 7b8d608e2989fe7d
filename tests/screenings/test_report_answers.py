"""Answers read as a researcher expects: on the question's own axis, numbers as histograms, free text listed,
choices as text, Table 1 to the end of the stimulus, the funnel's steps in words."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from screenings.models import Question
from screenings.reports import aggregates
from screenings.reports.builder import participant_report, screening_report
from tests.factories import QuestionFactory
from tests.screenings.report_fixtures import three_viewer_trailer

pytestmark = pytest.mark.django_db


@pytest.fixture
def trailer(screening):
    return three_viewer_trailer(screening)


def ranges(*labels):
    """Bin labels as the report writes them: with an en dash, typed here as a hyphen."""
    return [label.replace("-", aggregates.RANGE_DASH) for label in labels]


def item(report, text):
    return next(question for question in report["before_after"] if question["question"] == text)


class TestAxes:
    def test_choices_are_in_the_questions_order_with_the_unchosen_ones(self, trailer):
        again = item(screening_report(trailer), "Would you watch it?")
        assert again["categories"] == ["Yes", "Maybe", "No"]
        assert list(again["distributions"]["after"].items()) == [("Yes", 2), ("Maybe", 1)]
        liked = item(screening_report(trailer), "Which scenes did you like?")
        assert liked["categories"] == ["Opening", "Chase", "Reveal", "Title card", "(none chosen)"]

    def test_every_likert_point_is_on_the_axis(self, trailer):
        mood = item(screening_report(trailer), "How do you feel?")
        assert mood["categories"] == ["1", "2", "3", "4", "5"] and mood["shown_as"] == "bars"
        assert mood["distributions"]["before"] == {"2": 1, "3": 1, "4": 1}

    def test_numbers_and_sliders_are_histograms(self, trailer):
        report = screening_report(trailer)
        films = item(report, "Films a month?")
        assert films["shown_as"] == "histogram"
        assert films["categories"] == ranges("0-9", "10-19", "20-29", "30-39", "40-49", "50-60")
        assert films["distributions"]["before"] == dict.fromkeys(ranges("0-9", "10-19", "20-29"), 1)
        interest = item(report, "How interested are you?")
        assert len(interest["categories"]) == 10 and interest["categories"][-1] == ranges("90-100")[0]
        assert list(interest["distributions"]["after"].items()) == [
            (label, 1) for label in ranges("50-59", "80-89", "90-100")
        ]

    @pytest.mark.parametrize(
        ("minimum", "maximum", "values", "labels"),
        [
            (1, 4, [1, 4], ["1", "2", "3", "4"]),
            (None, None, [0.5, 2.25], ["0.4-0.6", "0.6-0.8", "0.8-1", "1-1.2", "1.2-1.4", "1.4-1.6", "1.6-1.8",
                                       "1.8-2", "2-2.2", "2.2-2.4"]),
            (None, None, [7], ["7"]),
        ],
    )  # fmt: skip
    def test_histogram_bins_follow_the_questions_range_and_answers(self, screening, minimum, maximum, values, labels):
        question = QuestionFactory(screening=screening, kind=Question.Kind.NUMBER, min_value=minimum,
                                   max_value=maximum)  # fmt: skip
        scale = aggregates.answer_scale(question, values)
        labels = ranges(*labels)
        assert scale.scale() == labels
        assert all(len(scale.keys(value)) == 1 and scale.keys(value)[0] in labels for value in values)

    def test_emotion_by_answer_follows_the_same_order(self, trailer):
        tables = {t["question"]: t for t in screening_report(trailer)["emotion_by_answer"]}
        assert [row["answer"] for row in tables["Would you watch it?"]["rows"]] == ["Yes", "Maybe"]
        assert [row["answer"] for row in tables["How interested are you?"]["rows"]] == ranges(
            "50-59", "80-89", "90-100"
        )


class TestFreeText:
    def test_answers_are_listed_not_charted(self, organizer_client, trailer):
        why = item(screening_report(trailer), "What stayed with you?")
        assert why["shown_as"] == "list" and why["chart"] is None and why["categories"] == []
        assert [answer["answer"] for answer in why["texts"]["after"]] == [
            "The chase at night.", "Too loud.", "The reveal, and the music.",
        ]  # fmt: skip
        assert why["texts"]["after"][0]["label"].endswith("(pid P1)")
        question = trailer.questions.get(kind=Question.Kind.TEXT)
        chart = reverse("organizer-chart", args=[trailer.pk, f"question-{question.pk}"])
        assert organizer_client.get(chart).status_code == 404

    def test_the_page_lists_them_under_a_filter(self, organizer_client, trailer):
        page = organizer_client.get(reverse("organizer-report", args=[trailer.pk])).content.decode()
        question = trailer.questions.get(kind=Question.Kind.TEXT)
        assert f'data-filter-for="answers-{question.pk}"' in page and f'id="answers-{question.pk}"' in page
        assert "The reveal, and the music." in page and "js/answer-filter.js" in page


class TestChoicesAsText:
    def test_the_participant_page_and_report_show_the_choices_joined(self, organizer_client, trailer):
        second = trailer.participants.get(external_id="P2")
        liked = next(a for a in participant_report(second)["answers"] if a["question"] == "Which scenes did you like?")
        assert liked["after"] == "Chase; Reveal"
        page = organizer_client.get(reverse("organizer-participant", args=[trailer.pk, second.pk])).content.decode()
        assert "Chase; Reveal" in page and "[&#x27;" not in page and "['" not in page
        third = trailer.participants.get(external_id="P3")
        page = organizer_client.get(reverse("organizer-participant", args=[trailer.pk, third.pk])).content.decode()
        assert "(none chosen)" in page

    def test_the_exports_show_the_choices_joined(self, organizer_client, trailer):
        response = organizer_client.get(reverse("organizer-download", args=[trailer.pk, "participants-csv"]))
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [row["after: Which scenes did you like?"] for row in rows] == ["Opening", "Chase; Reveal",
                                                                              "(none chosen)"]  # fmt: skip
        response = organizer_client.get(reverse("organizer-download", args=[trailer.pk, "xlsx"]))
        sheet = openpyxl.load_workbook(io.BytesIO(response.content))["answers"]
        assert "Chase; Reveal" in [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)]


class TestParticipantTableOne:
    def test_it_runs_to_the_end_of_the_stimulus_in_blocks(self, organizer_client, trailer):
        first = trailer.participants.get(external_id="P1")
        blocks = participant_report(first)["table1"]["blocks"]
        assert blocks[0]["timestamps"][0] == 0.0 and blocks[-1]["timestamps"][-1] == 119.0
        assert sum(len(block["timestamps"]) for block in blocks) == 120
        assert all(len(block["rows"]["happy"]) == len(block["timestamps"]) for block in blocks)
        page = organizer_client.get(reverse("organizer-participant", args=[trailer.pk, first.pk])).content.decode()
        assert "<th>119</th>" in page and "to 119 s of the 120 s stimulus" in page
        assert page.count('class="live-table table1"') == len(blocks)


def test_the_funnel_reads_before_done(organizer_client, trailer):
    page = organizer_client.get(reverse("organizer-report", args=[trailer.pk])).content.decode()
    assert "<th>Before done</th>" in page and "Before_done" not in page


def test_the_second_organizer_gets_404_for_the_pages_with_listed_answers(other_organizer_client, trailer):
    first = trailer.participants.first()
    assert other_organizer_client.get(reverse("organizer-report", args=[trailer.pk])).status_code == 404
    assert other_organizer_client.get(reverse("organizer-participant", args=[trailer.pk, first.pk])).status_code == 404
