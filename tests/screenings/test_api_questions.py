"""The questions of a screening through the organizer API; definitions are checked as the admin checks them."""

import pytest

from screenings.models import Question, Screening
from tests.factories import QuestionFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def questions_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/questions/"


def question_url(question: Question) -> str:
    return f"{questions_url(question.screening)}{question.pk}/"


class TestQuestionCrud:
    @pytest.mark.parametrize(
        "payload",
        [
            {"kind": "text", "text": "What stayed with you?", "required": False},
            {"kind": "single", "text": "Would you watch it?", "choices": ["Yes", "No", "Maybe"]},
            {"kind": "multiple", "text": "Which actors did you know?", "choices": ["Ann", "Bo"]},
            {"kind": "likert5", "text": "How much did you like it?", "low_label": "Not", "high_label": "A lot"},
            {"kind": "likert7", "text": "How tense was it?"},
            {"kind": "number", "text": "How old are you?", "min_value": 18, "max_value": 99},
            {"kind": "number", "text": "Cinema visits a year?", "min_value": 0},
            {"kind": "slider", "text": "How likely are you to go?", "phase": "both"},
            {"kind": "single", "text": "Your income?", "choices": ["Low", "High"], "allow_prefer_not": True},
        ],
    )
    def test_each_kind_of_question_is_created(self, api, screening, payload):
        response = api.post(questions_url(screening), payload, format="json")
        assert response.status_code == 201, response.json()
        question = Question.objects.get(pk=response.json()["id"])
        assert question.screening == screening
        assert {field: getattr(question, field) for field in payload} == payload

    def test_the_list_holds_this_screenings_questions_in_order(self, api, screening):
        QuestionFactory(screening=screening, text="Second?", order=2)
        QuestionFactory(screening=screening, text="First?", order=1)
        QuestionFactory(screening=ScreeningFactory(owner=screening.owner), text="Elsewhere?")
        response = api.get(questions_url(screening))
        assert [row["text"] for row in response.json()["results"]] == ["First?", "Second?"]

    def test_one_question_is_read(self, api, screening):
        question = QuestionFactory(screening=screening, kind="single", choices=["Yes", "No"])
        body = api.get(question_url(question)).json()
        assert (body["id"], body["kind"], body["choices"]) == (question.pk, "single", ["Yes", "No"])

    def test_patch_changes_the_fields_sent(self, api, screening):
        question = QuestionFactory(screening=screening, kind="single", choices=["Yes", "No"])
        response = api.patch(question_url(question), {"choices": ["Yes", "No", "Unsure"]}, format="json")
        assert response.status_code == 200, response.json()
        question.refresh_from_db()
        assert question.choices == ["Yes", "No", "Unsure"] and question.kind == "single"

    def test_prefer_not_to_say_is_read_and_can_be_turned_on_and_off(self, api, screening):
        question = QuestionFactory(screening=screening, kind="likert5")
        assert api.get(question_url(question)).json()["allow_prefer_not"] is False
        assert api.patch(question_url(question), {"allow_prefer_not": True}, format="json").status_code == 200
        question.refresh_from_db()
        assert question.allow_prefer_not is True
        response = api.patch(question_url(question), {"allow_prefer_not": "maybe"}, format="json")
        assert response.status_code == 400 and "allow_prefer_not" in response.json()

    def test_put_replaces_the_question(self, api, screening):
        question = QuestionFactory(screening=screening, kind="text")
        payload = {"kind": "number", "text": "Age?", "phase": "before", "min_value": 0, "max_value": 120}
        assert api.put(question_url(question), payload, format="json").status_code == 200
        question.refresh_from_db()
        assert (question.kind, question.text, question.phase, question.max_value) == ("number", "Age?", "before", 120)

    def test_a_question_is_deleted(self, api, screening):
        question = QuestionFactory(screening=screening)
        assert api.delete(question_url(question)).status_code == 204
        assert not Question.objects.filter(pk=question.pk).exists()

    def test_a_question_addressed_under_another_of_ones_screenings_is_404(self, api, screening):
        question = QuestionFactory(screening=ScreeningFactory(owner=screening.owner))
        assert api.get(f"{questions_url(screening)}{question.pk}/").status_code == 404


class TestQuestionDefinitions:
    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({"kind": "single"}, "choices", "at least two choices"),
            ({"kind": "single", "choices": ["Only"]}, "choices", "at least two choices"),
            ({"kind": "single", "choices": ["Yes", ""]}, "choices", "non-empty texts"),
            ({"kind": "single", "choices": "Yes, No"}, "choices", "non-empty texts"),
            ({"kind": "single", "choices": ["Yes", 2]}, "choices", "non-empty texts"),
            ({"kind": "multiple", "choices": ["A", "A"]}, "choices", "only once"),
            ({"kind": "multiple", "choices": []}, "choices", "at least two choices"),
            ({"kind": "text", "choices": ["A", "B"]}, "choices", "Only single and multiple choice"),
            ({"kind": "likert5", "choices": ["1", "2"]}, "choices", "Only single and multiple choice"),
            ({"kind": "likert7", "min_value": 1}, "min_value", "Only number questions"),
            ({"kind": "slider", "max_value": 50}, "min_value", "Only number questions"),
            ({"kind": "text", "min_value": 0}, "min_value", "Only number questions"),
            ({"kind": "number", "min_value": 10, "max_value": 1}, "max_value", "must not be below the minimum"),
            ({"kind": "number", "min_value": "low"}, "min_value", "A valid number is required"),
            ({"kind": "essay"}, "kind", "not a valid choice"),
            ({"phase": "during"}, "phase", "not a valid choice"),
            ({"text": ""}, "text", "may not be blank"),
            ({"text": "x" * 501}, "text", "no more than 500 characters"),
        ],
    )
    def test_a_question_that_cannot_be_answered_as_defined_is_refused(self, api, screening, payload, field, message):
        response = api.post(questions_url(screening), {"text": "Your view?", **payload}, format="json")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])
        assert not Question.objects.exists()

    def test_a_change_of_kind_is_checked_against_the_stored_choices(self, api, screening):
        question = QuestionFactory(screening=screening, kind="single", choices=["Yes", "No"])
        response = api.patch(question_url(question), {"kind": "text"}, format="json")
        assert response.status_code == 400
        assert response.json()["choices"] == ["Only single and multiple choice questions have choices."]
        question.refresh_from_db()
        assert question.kind == "single"

    def test_a_change_of_one_bound_is_checked_against_the_other(self, api, screening):
        question = QuestionFactory(screening=screening, kind="number", min_value=1, max_value=10)
        response = api.patch(question_url(question), {"min_value": 20}, format="json")
        assert response.status_code == 400
        assert response.json()["max_value"] == ["The maximum must not be below the minimum."]


class TestAnotherOrganizer:
    def test_another_organizer_cannot_list_or_add_questions(self, other_api, screening):
        QuestionFactory(screening=screening)
        assert other_api.get(questions_url(screening)).status_code == 404
        assert other_api.post(questions_url(screening), {"text": "Mine?"}, format="json").status_code == 404
        assert screening.questions.count() == 1

    def test_another_organizer_gets_404_not_field_messages_for_a_bad_question(self, other_api, screening):
        response = other_api.post(questions_url(screening), {"kind": "single", "text": "?"}, format="json")
        assert response.status_code == 404

    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_another_organizer_gets_404_for_one_question(self, other_api, screening, method):
        question = QuestionFactory(screening=screening, text="Kept?")
        response = getattr(other_api, method)(question_url(question), {"text": "Changed?"}, format="json")
        assert response.status_code == 404
        question.refresh_from_db()
        assert question.text == "Kept?"
