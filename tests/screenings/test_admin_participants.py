"""Participants, answers and samples in the admin: lists without N+1, read-only data, and erasure."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from screenings.models import Answer, EmotionSample, Participant
from tests.factories import AnswerFactory, EmotionSampleFactory, ParticipantFactory, ScreeningFactory
from tests.screenings.admin_helpers import admin_url, changelist_url, run_action

pytestmark = pytest.mark.django_db


def one_of_each(screening) -> dict:
    """A participant of ``screening`` with one answer and one sample, keyed by model."""
    participant = ParticipantFactory(screening=screening)
    return {
        Participant: participant,
        Answer: AnswerFactory(participant=participant),
        EmotionSample: EmotionSampleFactory(participant=participant),
    }


class TestParticipantList:
    def test_each_row_shows_the_screening_state_and_samples_stored(self, organizer_client, screening):
        participant = ParticipantFactory(screening=screening, external_id="panel-42", state="completed")
        EmotionSampleFactory(participant=participant, media_time=0)
        EmotionSampleFactory(participant=participant, media_time=1)
        response = organizer_client.get(changelist_url(Participant))
        page = response.content.decode()
        assert "panel-42" in page and screening.title in page and "Completed" in page
        assert response.context["cl"].result_list.get().sample_count == 2

    def test_the_list_can_be_filtered_by_state_and_searched_by_panel_id(self, organizer_client, screening):
        ParticipantFactory(screening=screening, external_id="panel-1", state="completed")
        ParticipantFactory(screening=screening, external_id="panel-2")
        filtered = organizer_client.get(changelist_url(Participant), {"state": "completed"})
        searched = organizer_client.get(changelist_url(Participant), {"q": "panel-2"})
        assert [p.external_id for p in filtered.context["cl"].result_list] == ["panel-1"]
        assert [p.external_id for p in searched.context["cl"].result_list] == ["panel-2"]

    @pytest.mark.parametrize("model", [Participant, Answer, EmotionSample])
    def test_the_list_takes_the_same_number_of_queries_for_many_rows(self, organizer, organizer_client, model):
        one_of_each(ScreeningFactory(owner=organizer))
        organizer_client.get(changelist_url(model))
        with CaptureQueriesContext(connection) as few:
            organizer_client.get(changelist_url(model))
        for _ in range(6):
            one_of_each(ScreeningFactory(owner=organizer))
        with CaptureQueriesContext(connection) as many:
            response = organizer_client.get(changelist_url(model))
        assert response.context["cl"].result_count == 7
        assert len(many) == len(few)


class TestParticipantPage:
    def test_it_shows_the_personal_link_and_read_only_answers(self, organizer_client, screening):
        participant = ParticipantFactory(screening=screening)
        AnswerFactory(participant=participant, value="Loved the ending.")
        response = organizer_client.get(admin_url(participant))
        page = response.content.decode()
        assert f"/p/{participant.token}/" in page and "Loved the ending." in page
        assert "token" not in response.context["adminform"].form.fields
        answers = response.context["inline_admin_formsets"][0]
        assert not (answers.has_add_permission or answers.has_change_permission or answers.has_delete_permission)

    def test_participants_are_neither_added_nor_deleted_here(self, organizer_client, screening):
        participant = ParticipantFactory(screening=screening)
        assert organizer_client.get(reverse("admin:screenings_participant_add")).status_code == 403
        assert organizer_client.post(admin_url(participant, "delete"), {"post": "yes"}).status_code == 403
        run_action(organizer_client, Participant, "delete_selected", [participant], post="yes")
        assert Participant.objects.filter(pk=participant.pk).exists()


class TestErasure:
    def test_erasing_deletes_only_the_chosen_participants_data_after_confirmation(self, organizer_client, screening):
        chosen = ParticipantFactory(screening=screening, external_id="panel-gone")
        kept = ParticipantFactory(screening=screening)
        for participant in (chosen, kept):
            AnswerFactory(participant=participant)
            EmotionSampleFactory(participant=participant)
        confirm = run_action(organizer_client, Participant, "erase_data", [chosen])
        assert "cannot be undone" in confirm.content.decode() and "panel-gone" in confirm.content.decode()
        assert chosen.answers.exists()
        run_action(organizer_client, Participant, "erase_data", [chosen], confirmed="yes")
        chosen.refresh_from_db()
        assert not chosen.answers.exists() and not chosen.samples.exists()
        assert chosen.external_id == "" and chosen.erased_at is not None
        assert kept.answers.exists() and kept.samples.exists()


class TestAnswersAndSamples:
    @pytest.mark.parametrize("model", [Answer, EmotionSample])
    def test_they_are_read_only(self, organizer_client, screening, model):
        obj = one_of_each(screening)[model]
        assert organizer_client.get(reverse(f"admin:screenings_{model._meta.model_name}_add")).status_code == 403
        assert organizer_client.get(admin_url(obj)).status_code == 200
        assert organizer_client.post(admin_url(obj), {"media_time": "99", "value": '"changed"'}).status_code == 403
        assert organizer_client.post(admin_url(obj, "delete"), {"post": "yes"}).status_code == 403
        run_action(organizer_client, model, "delete_selected", [obj], post="yes")
        assert model.objects.filter(pk=obj.pk).exists()

    def test_the_sample_list_shows_time_face_emotion_and_model(self, organizer_client, screening):
        participant = ParticipantFactory(screening=screening, external_id="panel-7")
        EmotionSampleFactory(
            participant=participant, media_time=12.5, surprise=0.8, dominant_emotion="surprise", model_version="v9"
        )
        page = organizer_client.get(changelist_url(EmotionSample)).content.decode()
        assert all(text in page for text in ("panel-7", "12.5", "surprise", "v9", "icon-yes"))
