import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from screenings.forms.questionnaire import QuestionnaireForm
from screenings.models import Question
from screenings.rules.questions import check_question_definition, validate_answer_value
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
