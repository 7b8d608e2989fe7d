"""Once participants have answered a question, no path may change what the answers mean or delete them."""

import pytest
from django.urls import reverse

from screenings import services
from screenings.models import Answer, Question, Screening
from screenings.reports.builder import screening_report
from screenings.selectors import questions_for_phase
from tests.factories import AnswerFactory, ParticipantFactory, QuestionFactory
from tests.screenings.admin_helpers import admin_url, screening_form

pytestmark = pytest.mark.django_db


def question_url(question: Question) -> str:
    return f"/api/screenings/{question.screening_id}/questions/{question.pk}/"


@pytest.fixture
def likert7(screening):
    """A 1-7 Likert question asked after watching, answered 7 by three participants."""
    question = QuestionFactory(screening=screening, kind=Question.Kind.LIKERT7, text="How tense was it?")
    for _ in range(3):
        AnswerFactory(participant=ParticipantFactory(screening=screening), question=question, value=7)
    return question


@pytest.fixture
def choice(screening):
    question = QuestionFactory(screening=screening, kind=Question.Kind.SINGLE, choices=["Yes", "No"], text="Again?")
    AnswerFactory(participant=ParticipantFactory(screening=screening), question=question, value="Yes")
    return question


def inline_form(screening: Screening, question: Question, **changes: str) -> dict[str, str]:
    """The screening's change form with its one question, as the admin page posts it."""
    fields = {
        "id": str(question.pk), "screening": str(screening.pk), "phase": question.phase, "kind": question.kind,
        "text": question.text, "help_text": "", "choices": "\n".join(question.choices),
        "min_value": "", "max_value": "", "low_label": "", "high_label": "", "order": str(question.order),
        "required": "on",
    }  # fmt: skip
    fields.update(changes)
    data = screening_form(title=screening.title, slug=screening.slug, **{
        "questions-TOTAL_FORMS": "1", "questions-INITIAL_FORMS": "1",
    })  # fmt: skip
    data.update({f"questions-0-{name}": value for name, value in fields.items()})
    return data


class TestTheApi:
    def test_changing_the_scale_of_an_answered_likert_is_refused_with_a_reason(self, api, likert7):
        response = api.patch(question_url(likert7), {"kind": "likert5"}, format="json")
        assert response.status_code == 409
        assert "its kind" in response.json()["kind"]
        likert7.refresh_from_db()
        assert likert7.kind == Question.Kind.LIKERT7

    def test_renaming_a_choice_that_may_have_been_picked_is_refused(self, api, choice):
        response = api.patch(question_url(choice), {"choices": ["Yes please", "No"]}, format="json")
        assert response.status_code == 409 and "'Yes'" in response.json()["choices"]
        choice.refresh_from_db()
        assert choice.choices == ["Yes", "No"]

    def test_adding_a_choice_and_fixing_the_wording_stay_allowed(self, api, choice):
        response = api.patch(
            question_url(choice), {"choices": ["Yes", "No", "Unsure"], "text": "Again, later?"}, format="json"
        )
        assert response.status_code == 200, response.json()
        choice.refresh_from_db()
        assert (choice.choices, choice.text) == (["Yes", "No", "Unsure"], "Again, later?")

    def test_a_put_that_repeats_the_stored_definition_is_allowed(self, api, likert7):
        payload = {"phase": "after", "kind": "likert7", "text": "How tense?", "order": 3}
        assert api.put(question_url(likert7), payload, format="json").status_code == 200

    def test_deleting_an_answered_question_is_refused_and_keeps_its_answers(self, api, likert7):
        response = api.delete(question_url(likert7))
        assert response.status_code == 409 and "Retire it instead" in response.json()["detail"]
        assert Answer.objects.filter(question=likert7).count() == 3

    def test_a_question_nobody_answered_can_still_be_deleted(self, api, screening):
        question = QuestionFactory(screening=screening)
        assert api.delete(question_url(question)).status_code == 204

    def test_no_longer_asking_a_phase_that_has_answers_is_refused(self, api, screening):
        question = QuestionFactory(screening=screening, phase=Question.Phase.BOTH, kind=Question.Kind.SLIDER)
        AnswerFactory(participant=ParticipantFactory(screening=screening), question=question, phase="before", value=3)
        assert api.patch(question_url(question), {"phase": "after"}, format="json").status_code == 409
        assert api.patch(question_url(question), {"phase": "before"}, format="json").status_code == 200

    def test_a_retired_question_is_no_longer_asked_but_stays_in_the_report(self, api, screening, likert7):
        response = api.patch(question_url(likert7), {"retired": True}, format="json")
        assert response.status_code == 200 and response.json()["retired"] is True
        assert likert7 not in questions_for_phase(screening=screening, phase="after")
        [item] = screening_report(screening)["before_after"]
        assert item["question_id"] == likert7.pk and item["distributions"]["after"] == {"7": 3}

    def test_another_organizer_cannot_change_or_delete_it(self, other_api, likert7):
        assert other_api.patch(question_url(likert7), {"text": "Mine?"}, format="json").status_code == 404
        assert other_api.delete(question_url(likert7)).status_code == 404


class TestTheServices:
    def test_the_rule_holds_whoever_calls(self, likert7):
        with pytest.raises(services.DataProtected):
            services.question_update(question=likert7, kind=Question.Kind.NUMBER)
        with pytest.raises(services.DataProtected):
            services.question_delete(question=likert7)
        assert Answer.objects.filter(question=likert7).count() == 3

    def test_the_database_refuses_deleting_an_answered_question_behind_the_services(self, likert7):
        from django.db.models import RestrictedError

        with pytest.raises(RestrictedError):
            likert7.delete()


class TestTheAdmin:
    def test_deleting_an_answered_question_in_the_inline_is_refused_with_a_message(self, organizer_client, likert7):
        screening = likert7.screening
        response = organizer_client.post(admin_url(screening), inline_form(screening, likert7, DELETE="on"))
        assert response.status_code == 200
        assert "an answered question cannot be deleted" in response.content.decode()
        assert Answer.objects.filter(question=likert7).count() == 3 and Question.objects.filter(pk=likert7.pk).exists()

    def test_changing_the_kind_in_the_inline_is_refused_with_a_message(self, organizer_client, likert7):
        screening = likert7.screening
        response = organizer_client.post(admin_url(screening), inline_form(screening, likert7, kind="likert5"))
        assert response.status_code == 200 and "its kind" in response.content.decode()
        likert7.refresh_from_db()
        assert likert7.kind == Question.Kind.LIKERT7

    def test_retiring_and_rewording_in_the_inline_are_saved(self, organizer_client, likert7):
        screening = likert7.screening
        form = inline_form(screening, likert7, text="How tense was the film?", retired="on")
        assert organizer_client.post(admin_url(screening), form).status_code == 302
        likert7.refresh_from_db()
        assert (likert7.text, likert7.retired) == ("How tense was the film?", True)


class TestOpenedScreenings:
    def test_the_slug_and_stimulus_of_an_opened_screening_cannot_change(self, api, screening):
        services.screening_open(screening=screening)
        url = f"/api/screenings/{screening.pk}/"
        response = api.patch(url, {"slug": "new-slug"}, format="json")
        assert response.status_code == 400 and "slug cannot change" in response.json()["slug"][0]
        response = api.patch(
            url, {"stimulus": None, "stimulus_url": "https://cdn.example.org/other.mp4"}, format="json"
        )
        assert response.status_code == 400 and "stimulus" in response.json()
        screening.refresh_from_db()
        assert screening.stimulus and not screening.stimulus_url

    def test_the_admin_refuses_a_new_slug_for_an_opened_screening(self, organizer_client, screening):
        services.screening_open(screening=screening)
        response = organizer_client.post(admin_url(screening), screening_form(title=screening.title, slug="moved"))
        assert response.status_code == 200 and "slug cannot change" in response.content.decode()
        assert Screening.objects.get(pk=screening.pk).slug == screening.slug

    def test_a_draft_may_still_change_its_slug(self, api, organizer):
        from tests.factories import ScreeningFactory

        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        assert api.patch(f"/api/screenings/{draft.pk}/", {"slug": "renamed"}, format="json").status_code == 200


def test_the_admin_page_still_lists_the_question(organizer_client, likert7):
    assert (
        organizer_client.get(reverse("admin:screenings_screening_change", args=[likert7.screening_id])).status_code
        == 200
    )
