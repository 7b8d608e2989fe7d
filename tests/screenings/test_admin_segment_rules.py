"""What the segment rule builder in the screening's admin page is told: this screening's questions, no one else's."""

import html
import json
import re

import pytest
from django.urls import reverse

from screenings import services
from screenings.models import Question
from tests.factories import QuestionFactory, ScreeningFactory
from tests.screenings.admin_helpers import admin_url
from tests.screenings.report_fixtures import three_viewer_trailer

pytestmark = pytest.mark.django_db


def builder_data(page: str) -> list[dict]:
    """Each rules textarea's builder data on the page (the inline's empty row included)."""
    return [json.loads(html.unescape(found)) for found in re.findall(r'data-segment-rules="([^"]*)"', page)]


def test_the_builder_is_given_each_question_with_its_kind_phase_and_answers(organizer_client, screening):
    trailer = three_viewer_trailer(screening)
    services.segment_create(screening=trailer, name="Keen", rules=[])
    page = organizer_client.get(admin_url(trailer)).content.decode()
    data = builder_data(page)
    # The saved segment's row and the empty row "Add another Segment" copies.
    assert len(data) == 2 and data[0] == data[1]
    by_text = {question["text"]: question for question in data[0]["questions"]}
    ids = {question.text: question.pk for question in trailer.questions.all()}
    assert by_text["How do you feel?"] == {
        "id": ids["How do you feel?"], "text": "How do you feel?", "kind": "likert5", "kindLabel": "Likert 1-5",
        "phase": "both", "retired": False, "points": 5,
    }  # fmt: skip
    assert by_text["Would you watch it?"]["choices"] == ["Yes", "Maybe", "No"]
    assert by_text["Would you watch it?"]["phase"] == "after"
    assert by_text["Which scenes did you like?"]["kind"] == "multiple"
    films, interest = by_text["Films a month?"], by_text["How interested are you?"]
    assert (films["kind"], films["phase"], films["min"], films["max"]) == ("number", "before", 0, 60)
    assert (interest["kind"], interest["min"], interest["max"]) == ("slider", 0, 100)
    assert [capture["value"] for capture in data[0]["captures"]] == ["live", "recording"]
    assert 'src="/static/js/admin-segment-rules.js"' in page


def test_free_text_questions_are_not_offered(organizer_client, screening):
    trailer = three_viewer_trailer(screening)
    offered = builder_data(organizer_client.get(admin_url(trailer)).content.decode())[0]["questions"]
    assert "What stayed with you?" not in [question["text"] for question in offered]
    assert all(question["kind"] != Question.Kind.TEXT for question in offered)
    assert len(offered) == trailer.questions.count() - 1


def test_another_organizers_questions_are_not_offered(organizer_client, screening, other_organizer):
    QuestionFactory(screening=screening, kind=Question.Kind.SINGLE, text="Mine?", choices=["Yes", "No"])
    theirs = ScreeningFactory(owner=other_organizer)
    secret = QuestionFactory(screening=theirs, kind=Question.Kind.SINGLE, text="Theirs?", choices=["Ja", "Nein"])
    page = organizer_client.get(admin_url(screening)).content.decode()
    offered = builder_data(page)[0]["questions"]
    assert [question["text"] for question in offered] == ["Mine?"]
    assert secret.pk not in [question["id"] for question in offered] and "Theirs?" not in page


def test_a_new_screening_offers_no_questions(organizer_client, screening):
    QuestionFactory(screening=screening, kind=Question.Kind.SINGLE, text="Mine?", choices=["Yes", "No"])
    page = organizer_client.get(reverse("admin:screenings_screening_add")).content.decode()
    assert [data["questions"] for data in builder_data(page)] == [[]]


def test_the_other_organizer_is_not_shown_the_builder_of_the_screening(other_organizer_client, screening):
    QuestionFactory(screening=screening, kind=Question.Kind.SINGLE, text="Mine?", choices=["Yes", "No"])
    response = other_organizer_client.get(admin_url(screening))
    assert response.status_code == 404 and "Mine?" not in response.content.decode()
