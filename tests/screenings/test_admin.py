"""The organizer side in the admin: each organizer reaches only their own screenings and what belongs to them."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from screenings.models import Answer, EmotionSample, Participant, Screening
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    OrganizerFactory,
    ParticipantFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return reverse(f"admin:screenings_{obj._meta.model_name}_change", args=[obj.pk])


def changelist(model) -> str:
    return reverse(f"admin:screenings_{model._meta.model_name}_changelist")


def run_action(client, model, action: str, objects, **extra):
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(changelist(model), data)


class TestScreeningList:
    def test_an_organizer_lists_only_own_and_shared_screenings_with_counts(self, organizer, organizer_client):
        own = ScreeningFactory(owner=organizer, title="Own trailer")
        shared = ScreeningFactory(title="Shared trailer")
        shared.collaborators.add(organizer)
        ScreeningFactory(title="Someone else's trailer")
        ParticipantFactory(screening=own, state=Participant.State.COMPLETED)
        EmotionSampleFactory(participant=ParticipantFactory(screening=own))
        response = organizer_client.get(changelist(Screening))
        page = response.content.decode()
        assert "Own trailer" in page and "Shared trailer" in page
        assert "Someone else" not in page
        row = next(r for r in response.context["cl"].result_list if r.pk == own.pk)
        assert (row.invited_count, row.completed_count, row.sample_count) == (2, 1, 1)

    def test_the_list_takes_the_same_number_of_queries_for_many_screenings(self, organizer, organizer_client):
        ScreeningFactory(owner=organizer)
        organizer_client.get(changelist(Screening))
        with CaptureQueriesContext(connection) as few:
            organizer_client.get(changelist(Screening))
        for _ in range(8):
            screening = ScreeningFactory(owner=organizer)
            EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        with CaptureQueriesContext(connection) as many:
            organizer_client.get(changelist(Screening))
        assert len(many) == len(few)

    def test_a_user_who_is_not_staff_cannot_enter(self, client, screening):
        user = OrganizerFactory(username="viewer", is_staff=False)
        client.force_login(user)
        assert client.get(changelist(Screening)).status_code == 302


class TestSecondOrganizerIsRefused:
    @pytest.fixture
    def objects(self, screening):
        participant = ParticipantFactory(screening=screening, external_id="panel-secret")
        return {
            "screening": screening,
            "participant": participant,
            "answer": AnswerFactory(participant=participant),
            "sample": EmotionSampleFactory(participant=participant),
        }

    @pytest.mark.parametrize("name", ["screening", "participant", "answer", "sample"])
    def test_change_history_and_delete_pages_give_404(self, other_organizer_client, objects, name):
        obj = objects[name]
        assert other_organizer_client.get(change_url(obj)).status_code == 404
        model_name = obj._meta.model_name
        for view in ("history", "delete"):
            url = reverse(f"admin:screenings_{model_name}_{view}", args=[obj.pk])
            assert other_organizer_client.get(url).status_code == 404

    def test_a_change_post_to_another_organizers_screening_changes_nothing(self, other_organizer_client, screening):
        response = other_organizer_client.post(change_url(screening), {"title": "Hijacked", "slug": "hijacked"})
        assert response.status_code == 404
        screening.refresh_from_db()
        assert screening.title != "Hijacked"

    def test_lists_hide_another_organizers_participants_answers_and_samples(self, other_organizer_client, objects):
        for model in (Participant, Answer, EmotionSample):
            response = other_organizer_client.get(changelist(model))
            assert response.context["cl"].result_count == 0
        assert "panel-secret" not in other_organizer_client.get(changelist(Participant)).content.decode()

    def test_actions_cannot_reach_another_organizers_objects(self, other_organizer_client, objects):
        run_action(other_organizer_client, Screening, "close_screenings", [objects["screening"]])
        objects["screening"].refresh_from_db()
        assert objects["screening"].status == Screening.Status.OPEN
        run_action(other_organizer_client, Participant, "erase_data", [objects["participant"]], confirmed="yes")
        assert Answer.objects.count() == 1 and EmotionSample.objects.count() == 1

    def test_the_screening_filter_offers_only_own_screenings(self, other_organizer, other_organizer_client, screening):
        ScreeningFactory(owner=other_organizer, title="Mallory's own")
        response = other_organizer_client.get(changelist(Participant))
        page = response.content.decode()
        assert "Mallory&#x27;s own" in page or "Mallory's own" in page
        assert screening.title not in page


@pytest.mark.parametrize("model", [Answer, EmotionSample])
def test_answers_and_samples_are_read_only(organizer_client, screening, model):
    assert organizer_client.get(reverse(f"admin:screenings_{model._meta.model_name}_add")).status_code == 403
    sample = EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
    response = organizer_client.post(change_url(sample), {"media_time": "99"})
    sample.refresh_from_db()
    assert response.status_code == 403 and sample.media_time != 99


class TestScreeningEditing:
    def test_creating_a_screening_makes_the_organizer_its_owner(self, organizer, organizer_client):
        data = {
            "title": "New ad", "slug": "new-ad", "consent_text": "ok", "sampling_interval": "0.5",
            "capture_source": "webcam", "stimulus_url": "https://cdn.example.org/ad.mp4",
            "questions-TOTAL_FORMS": "1", "questions-INITIAL_FORMS": "0",
            "questions-0-phase": "both", "questions-0-kind": "likert5", "questions-0-text": "Mood?",
            "questions-0-required": "on", "questions-0-order": "0", "questions-0-choices": "[]",
            "markers-TOTAL_FORMS": "1", "markers-INITIAL_FORMS": "0",
            "markers-0-start": "0", "markers-0-end": "5", "markers-0-label": "Logo",
        }  # fmt: skip
        response = organizer_client.post(reverse("admin:screenings_screening_add"), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        screening = Screening.objects.get(slug="new-ad")
        assert screening.owner == organizer and screening.status == Screening.Status.DRAFT
        assert screening.questions.get().phase == "both" and screening.markers.get().label == "Logo"

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("sampling_interval", "0.1", "greater than or equal to 0.2"),
            ("questions-0-choices", '["Only one"]', "at least two choices"),
            ("markers-0-end", "0", "must end after it starts"),
        ],
    )
    def test_bad_values_are_refused_with_a_message(self, organizer_client, field, value, message):
        data = {
            "title": "Bad", "slug": "bad", "consent_text": "ok", "sampling_interval": "1", "capture_source": "webcam",
            "questions-TOTAL_FORMS": "1", "questions-INITIAL_FORMS": "0",
            "questions-0-phase": "after", "questions-0-kind": "single", "questions-0-text": "Pick",
            "questions-0-order": "0", "questions-0-choices": '["A", "B"]',
            "markers-TOTAL_FORMS": "1", "markers-INITIAL_FORMS": "0",
            "markers-0-start": "1", "markers-0-end": "5", "markers-0-label": "Logo",
        }  # fmt: skip
        data[field] = value
        response = organizer_client.post(reverse("admin:screenings_screening_add"), data)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not Screening.objects.filter(slug="bad").exists()


class TestActions:
    def test_opening_without_a_stimulus_fails_with_a_message(self, organizer, organizer_client):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT, stimulus="")
        response = run_action(organizer_client, Screening, "open_screenings", [draft])
        messages = [str(m) for m in response.wsgi_request._messages]
        assert any("needs a stimulus" in m for m in messages)
        draft.refresh_from_db()
        assert draft.status == Screening.Status.DRAFT

    def test_open_and_close(self, organizer, organizer_client):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        run_action(organizer_client, Screening, "open_screenings", [draft])
        draft.refresh_from_db()
        assert draft.status == Screening.Status.OPEN
        run_action(organizer_client, Screening, "close_screenings", [draft])
        draft.refresh_from_db()
        assert draft.status == Screening.Status.CLOSED

    def test_invite_links_download_as_csv_with_one_unguessable_link_per_row(self, organizer_client, screening):
        response = run_action(organizer_client, Screening, "generate_invites", [screening], count="5", label="wave 1")
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert len(rows) == 5
        tokens = {row["link"].rstrip("/").rsplit("/", 1)[-1] for row in rows}
        assert len(tokens) == 5 and all(len(token) >= 43 for token in tokens)
        assert all(row["link"].startswith("http://testserver/p/") and row["label"] == "wave 1" for row in rows)
        assert screening.participants.count() == 5

    @pytest.mark.parametrize("count", ["0", "10001", "many"])
    def test_invite_counts_out_of_range_are_refused_on_the_form(self, organizer_client, screening, count):
        response = run_action(organizer_client, Screening, "generate_invites", [screening], count=count)
        assert response.status_code == 200 and response.context["form"].errors["count"]
        assert not screening.participants.exists()

    def test_the_open_link_action_shows_the_link(self, organizer_client, screening):
        response = run_action(organizer_client, Screening, "show_open_links", [screening])
        messages = [str(m) for m in response.wsgi_request._messages]
        assert any(f"http://testserver/s/{screening.slug}/join/" in m for m in messages)

    def test_erasing_deletes_only_the_chosen_participants_data_after_confirmation(self, organizer_client, screening):
        chosen = ParticipantFactory(screening=screening)
        kept = ParticipantFactory(screening=screening)
        for participant in (chosen, kept):
            AnswerFactory(participant=participant)
            EmotionSampleFactory(participant=participant)
        confirm = run_action(organizer_client, Participant, "erase_data", [chosen])
        assert "cannot be undone" in confirm.content.decode()
        assert chosen.answers.exists()
        run_action(organizer_client, Participant, "erase_data", [chosen], confirmed="yes")
        assert not chosen.answers.exists() and not chosen.samples.exists()
        assert kept.answers.exists() and kept.samples.exists()
