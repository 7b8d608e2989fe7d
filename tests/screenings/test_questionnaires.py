import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from screenings.forms.questionnaire import QuestionnaireForm
from screenings.models import Question
from screenings.rules.questions import (
    PREFER_NOT_TO_SAY,
    check_question_definition,
    is_prefer_not,
    validate_answer_value,
)
from tests.factories import QuestionFactory

pytestmark = pytest.mark.django_db

Kind = Question.Kind


def question(kind: str, **fields: object) -> Question:
    return QuestionFactory(kind=kind, **fields)


@pytest.mark.parametrize(
    ("kind", "fields", "value", "stored"),
    [
        (Kind.TEXT, {}, "  Loved the ending  ", "Loved the ending"),
        (Kind.SINGLE, {"choices": ["Yes", "No"]}, "No", "No"),
        (Kind.MULTIPLE, {"choices": ["A", "B", "C"]}, ["C", "A"], ["A", "C"]),
        (Kind.LIKERT5, {}, 5, 5),
        (Kind.LIKERT7, {}, 1, 1),
        (Kind.NUMBER, {"min_value": 0, "max_value": 10}, 2.5, 2.5),
        (Kind.NUMBER, {}, 7.0, 7),
        (Kind.SLIDER, {}, 0, 0),
        (Kind.SLIDER, {}, 100, 100),
    ],
)
def test_it_accepts_good_values_for_every_kind(kind, fields, value, stored):
    assert validate_answer_value(question(kind, **fields), value) == stored


@pytest.mark.parametrize(
    ("kind", "fields", "value"),
    [
        (Kind.TEXT, {}, 42),
        (Kind.TEXT, {}, "x" * 5001),
        (Kind.SINGLE, {"choices": ["Yes", "No"]}, "Perhaps"),
        (Kind.SINGLE, {"choices": ["Yes", "No"]}, ["Yes"]),
        (Kind.MULTIPLE, {"choices": ["A", "B"]}, "A"),
        (Kind.MULTIPLE, {"choices": ["A", "B"]}, ["A", "Z"]),
        (Kind.MULTIPLE, {"choices": ["A", "B"]}, ["A", "A"]),
        (Kind.MULTIPLE, {"choices": ["A", "B"]}, [1]),
        (Kind.LIKERT5, {}, 0),
        (Kind.LIKERT5, {}, 6),
        (Kind.LIKERT5, {}, 2.5),
        (Kind.LIKERT5, {}, True),
        (Kind.LIKERT5, {}, "3"),
        (Kind.LIKERT7, {}, 8),
        (Kind.NUMBER, {"min_value": 0, "max_value": 10}, -1),
        (Kind.NUMBER, {"min_value": 0, "max_value": 10}, 10.5),
        (Kind.NUMBER, {}, float("nan")),
        (Kind.NUMBER, {}, float("inf")),
        (Kind.NUMBER, {}, "ten"),
        (Kind.SLIDER, {}, -1),
        (Kind.SLIDER, {}, 101),
        (Kind.SLIDER, {}, 50.5),
    ],
)
def test_it_rejects_bad_values_for_every_kind(kind, fields, value):
    with pytest.raises(ValidationError):
        validate_answer_value(question(kind, **fields), value)


@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_a_required_question_refuses_a_blank_answer(blank):
    with pytest.raises(ValidationError, match="needs an answer"):
        validate_answer_value(question(Kind.TEXT, required=True), blank)


def test_an_optional_question_stores_a_blank_answer_as_none():
    assert validate_answer_value(question(Kind.LIKERT5, required=False), "") is None


@pytest.mark.parametrize(
    ("kind", "fields", "field_with_error"),
    [
        (Kind.SINGLE, {"choices": []}, "choices"),
        (Kind.SINGLE, {"choices": ["Only one"]}, "choices"),
        (Kind.MULTIPLE, {"choices": ["A", "A"]}, "choices"),
        (Kind.MULTIPLE, {"choices": ["A", ""]}, "choices"),
        (Kind.SINGLE, {"choices": "A,B"}, "choices"),
        (Kind.TEXT, {"choices": ["A", "B"]}, "choices"),
        (Kind.NUMBER, {"min_value": 5, "max_value": 1}, "max_value"),
        (Kind.LIKERT5, {"min_value": 1}, "min_value"),
    ],
)
def test_it_rejects_question_definitions_that_cannot_be_answered(kind, fields, field_with_error):
    with pytest.raises(ValidationError) as error:
        check_question_definition(Question(kind=kind, text="?", **fields))
    assert field_with_error in error.value.message_dict


def test_the_form_parses_browser_values_into_typed_answers():
    likert = question(Kind.LIKERT5)
    choices = question(Kind.MULTIPLE, choices=["A", "B", "C"])
    number = question(Kind.NUMBER, min_value=0, max_value=100)
    data = QueryDict(mutable=True)
    data.update({f"q{likert.pk}": "4", f"q{number.pk}": "12"})
    data.setlist(f"q{choices.pk}", ["B"])
    form = QuestionnaireForm(data, questions=[likert, choices, number])
    assert form.is_valid(), form.errors
    assert form.answers() == {likert.pk: 4, choices.pk: ["B"], number.pk: 12}


def test_the_form_puts_each_error_beside_its_question():
    likert = question(Kind.LIKERT5)
    text = question(Kind.TEXT, required=False)
    form = QuestionnaireForm({f"q{likert.pk}": "9", f"q{text.pk}": ""}, questions=[likert, text])
    assert not form.is_valid()
    assert list(form.errors) == [f"q{likert.pk}"]


class TestSliders:
    """A slider always shows a position, so the position it started at is not an answer."""

    def test_an_untouched_required_slider_is_refused_with_how_to_answer_it(self):
        slider = question(Kind.SLIDER)
        form = QuestionnaireForm({f"q{slider.pk}": "50", f"q{slider.pk}_untouched": "1"}, questions=[slider])
        assert not form.is_valid()
        assert "please move the slider" in form.errors[f"q{slider.pk}"][0]

    def test_an_untouched_optional_slider_stores_no_answer(self):
        slider = question(Kind.SLIDER, required=False)
        form = QuestionnaireForm({f"q{slider.pk}": "50", f"q{slider.pk}_untouched": "1"}, questions=[slider])
        assert form.is_valid(), form.errors
        assert form.answers() == {slider.pk: None}

    def test_a_moved_slider_stores_its_position(self):
        slider = question(Kind.SLIDER)
        form = QuestionnaireForm({f"q{slider.pk}": "50"}, questions=[slider])
        assert form.is_valid(), form.errors
        assert form.answers() == {slider.pk: 50}

    def test_a_new_form_shows_every_slider_as_not_answered_yet(self):
        slider = question(Kind.SLIDER)
        assert QuestionnaireForm(questions=[slider]).untouched_sliders == {f"q{slider.pk}"}
        moved = QuestionnaireForm({f"q{slider.pk}": "80"}, questions=[slider])
        assert moved.untouched_sliders == set()


class TestPreferNotToSay:
    def test_it_answers_a_required_question_whose_organizer_allows_it(self):
        slider = question(Kind.SLIDER, allow_prefer_not=True)
        data = {f"q{slider.pk}": "50", f"q{slider.pk}_untouched": "1", f"q{slider.pk}_prefer_not": "1"}
        form = QuestionnaireForm(data, questions=[slider])
        assert form.is_valid(), form.errors
        assert form.answers() == {slider.pk: PREFER_NOT_TO_SAY}

    def test_it_sets_aside_whatever_else_was_sent_for_the_question(self):
        number = question(Kind.NUMBER, min_value=0, max_value=10, allow_prefer_not=True)
        form = QuestionnaireForm({f"q{number.pk}": "99", f"q{number.pk}_prefer_not": "1"}, questions=[number])
        assert form.is_valid(), form.errors
        assert form.answers() == {number.pk: PREFER_NOT_TO_SAY}

    def test_it_is_no_answer_where_the_organizer_does_not_allow_it(self):
        slider = question(Kind.SLIDER)
        data = {f"q{slider.pk}": "50", f"q{slider.pk}_untouched": "1", f"q{slider.pk}_prefer_not": "1"}
        assert not QuestionnaireForm(data, questions=[slider]).is_valid()
        with pytest.raises(ValidationError, match="no “prefer not to say”"):
            validate_answer_value(slider, PREFER_NOT_TO_SAY)

    def test_a_required_question_left_blank_says_prefer_not_to_say_is_possible(self):
        likert = question(Kind.LIKERT5, allow_prefer_not=True)
        form = QuestionnaireForm({}, questions=[likert])
        assert not form.is_valid()
        assert "Prefer not to say" in form.errors[f"q{likert.pk}"][0]

    def test_it_is_stored_as_a_value_no_answer_of_any_kind_can_be(self):
        text = question(Kind.TEXT, allow_prefer_not=True)
        assert validate_answer_value(text, PREFER_NOT_TO_SAY) == PREFER_NOT_TO_SAY
        assert validate_answer_value(text, "(prefer not to say)") == "(prefer not to say)"
        assert not is_prefer_not("(prefer not to say)")
