"""The answers given to a screening's questions, read through the organizer API."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from screenings.models import Screening
from tests.factories import AnswerFactory, ParticipantFactory, QuestionFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def answers_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/answers/"


class TestAnswerList:
    def test_each_row_names_the_participant_the_question_and_the_phase(self, api, screening):
        participant = ParticipantFactory(screening=screening, external_id="panel-7")
        question = QuestionFactory(screening=screening, kind="likert5", text="Liked it?")
        answer = AnswerFactory(participant=participant, question=question, phase="after", value=4)
        row = api.get(answers_url(screening)).json()["results"][0]
        assert row == {
            "id": answer.pk,
            "participant": participant.pk,
            "external_id": "panel-7",
            "question": question.pk,
            "question_text": "Liked it?",
            "phase": "after",
            "value": 4,
            "answered_at": row["answered_at"],
        }
        assert row["answered_at"]

    def test_the_list_holds_only_this_screenings_answers(self, api, screening):
        AnswerFactory(participant=ParticipantFactory(screening=screening))
        AnswerFactory(participant=ParticipantFactory(screening=ScreeningFactory(owner=screening.owner)))
        assert api.get(answers_url(screening)).json()["count"] == 1

    def test_answers_can_be_filtered_by_phase_and_participant(self, api, screening):
        first, second = ParticipantFactory(screening=screening), ParticipantFactory(screening=screening)
        AnswerFactory(participant=first, phase="before")
        AnswerFactory(participant=first, phase="after")
        AnswerFactory(participant=second, phase="after")
        url = answers_url(screening)
        assert api.get(url).json()["count"] == 3
        assert api.get(url, {"phase": "after"}).json()["count"] == 2
        assert api.get(url, {"phase": "before"}).json()["count"] == 1
        assert api.get(url, {"participant": first.pk}).json()["count"] == 2
        assert api.get(url, {"participant": second.pk, "phase": "before"}).json()["count"] == 0

    @pytest.mark.parametrize(
        ("query", "field", "message"),
        [
            ({"phase": "during"}, "phase", "not a valid choice"),
            ({"phase": "both"}, "phase", "not a valid choice"),
            ({"participant": "x"}, "participant", "A valid integer is required."),
            ({"participant": "²"}, "participant", "A valid integer is required."),
            ({"participant": "0"}, "participant", "greater than or equal to 1"),
            ({"participant": "9" * 30}, "participant", "less than or equal to"),
        ],
    )
    def test_a_bad_filter_is_refused_with_a_message(self, api, screening, query, field, message):
        response = api.get(answers_url(screening), query)
        assert response.status_code == 400
        assert message in response.json()[field][0]

    def test_one_answer_is_read(self, api, screening):
        answer = AnswerFactory(participant=ParticipantFactory(screening=screening), value="Great")
        assert api.get(f"{answers_url(screening)}{answer.pk}/").json()["value"] == "Great"

    def test_answers_are_read_only(self, api, screening):
        answer = AnswerFactory(participant=ParticipantFactory(screening=screening))
        assert api.post(answers_url(screening), {"value": "x"}, format="json").status_code == 405
        assert api.patch(f"{answers_url(screening)}{answer.pk}/", {"value": "x"}, format="json").status_code == 405
        assert api.delete(f"{answers_url(screening)}{answer.pk}/").status_code == 405

    def test_the_list_takes_the_same_number_of_queries_however_many_answers(self, api, screening):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert api.get(answers_url(screening)).status_code == 200
            return len(captured)

        AnswerFactory(participant=ParticipantFactory(screening=screening))
        few = queries()
        for _ in range(10):
            participant = ParticipantFactory(screening=screening)
            AnswerFactory(participant=participant, phase="before")
            AnswerFactory(participant=participant, phase="after")
        assert queries() == few


class TestAnotherOrganizer:
    def test_another_organizer_gets_404_for_the_list_and_each_answer(self, other_api, screening):
        answer = AnswerFactory(participant=ParticipantFactory(screening=screening))
        assert other_api.get(answers_url(screening)).status_code == 404
        assert other_api.get(answers_url(screening), {"phase": "during"}).status_code == 404
        assert other_api.get(f"{answers_url(screening)}{answer.pk}/").status_code == 404
