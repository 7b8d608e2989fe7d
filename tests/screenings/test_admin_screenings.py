"""The screening pages of the admin: the list with its counts, the edit form, deletion and the actions."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from screenings.models import Answer, EmotionSample, Participant, Screening
from screenings.services.demo import stimulus_video_write
from tests.factories import AnswerFactory, EmotionSampleFactory, OrganizerFactory, ParticipantFactory, ScreeningFactory
from tests.screenings.admin_helpers import admin_url, changelist_url, messages_shown, run_action, screening_form

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:screenings_screening_add")


class TestScreeningList:
    def test_each_row_counts_participants_invited_completed_and_samples_stored(self, screening, organizer_client):
        ParticipantFactory(screening=screening, state=Participant.State.COMPLETED)
        EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        response = organizer_client.get(changelist_url(Screening))
        row = response.context["cl"].result_list.get(pk=screening.pk)
        assert (row.invited_count, row.completed_count, row.sample_count) == (2, 1, 1)

    def test_the_list_takes_the_same_number_of_queries_for_many_screenings(self, organizer, organizer_client):
        ScreeningFactory(owner=organizer)
        organizer_client.get(changelist_url(Screening))
        with CaptureQueriesContext(connection) as few:
            organizer_client.get(changelist_url(Screening))
        for _ in range(8):
            screening = ScreeningFactory(owner=organizer)
            screening.collaborators.add(OrganizerFactory())
            EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        with CaptureQueriesContext(connection) as many:
            organizer_client.get(changelist_url(Screening))
        assert len(many) == len(few)

    def test_the_list_can_be_searched_by_title(self, organizer, organizer_client):
        ScreeningFactory(owner=organizer, title="Summer campaign")
        ScreeningFactory(owner=organizer, title="Winter campaign")
        response = organizer_client.get(changelist_url(Screening), {"q": "summer"})
        assert [row.title for row in response.context["cl"].result_list] == ["Summer campaign"]


class TestScreeningForm:
    def test_creating_a_screening_makes_the_organizer_its_owner(self, organizer, organizer_client):
        data = screening_form(stimulus_url="https://cdn.example.org/ad.mp4", sampling_interval="0.5")
        data.update({
            "questions-TOTAL_FORMS": "1", "questions-0-phase": "both", "questions-0-kind": "likert5",
            "questions-0-text": "Mood?", "questions-0-required": "on", "questions-0-order": "0",
            "questions-0-choices": "",
            "scenes-TOTAL_FORMS": "1", "scenes-0-start": "0", "scenes-0-end": "5", "scenes-0-label": "Logo",
        })  # fmt: skip
        response = organizer_client.post(ADD_URL, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        screening = Screening.objects.get(slug="new-ad")
        assert screening.owner == organizer and screening.status == Screening.Status.DRAFT
        assert screening.questions.get().phase == "both" and screening.scenes.get().label == "Logo"

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("sampling_interval", "0.1", "greater than or equal to 0.2"),
            ("questions-0-choices", "Only one", "at least two choices"),
            ("scenes-0-end", "0", "must end after it starts"),
        ],
    )
    def test_bad_values_are_refused_with_a_message(self, organizer_client, field, value, message):
        data = screening_form(slug="bad")
        data.update({
            "questions-TOTAL_FORMS": "1", "questions-0-phase": "after", "questions-0-kind": "single",
            "questions-0-text": "Pick", "questions-0-order": "0", "questions-0-choices": "A\nB",
            "scenes-TOTAL_FORMS": "1", "scenes-0-start": "1", "scenes-0-end": "5", "scenes-0-label": "Logo",
        })  # fmt: skip
        data[field] = value
        response = organizer_client.post(ADD_URL, data)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not Screening.objects.filter(slug="bad").exists()

    def test_the_sampling_interval_offers_the_usual_values_and_takes_others(self, organizer_client):
        page = organizer_client.get(ADD_URL).content.decode()
        assert '<input type="number" name="sampling_interval" value="1" list="sampling-intervals"' in page
        assert all(f'<option value="{value}">' in page for value in ("0.5", "1", "2", "5"))
        organizer_client.post(ADD_URL, screening_form(sampling_interval="0.25"))
        assert Screening.objects.get(slug="new-ad").sampling_interval == Decimal("0.25")

    def test_the_stimulus_duration_is_read_from_an_uploaded_video(self, organizer_client, tmp_path):
        path = tmp_path / "clip.mp4"
        stimulus_video_write(path, width=160, height=96)
        video = SimpleUploadedFile("clip.mp4", path.read_bytes(), content_type="video/mp4")
        response = organizer_client.post(ADD_URL, screening_form(stimulus=video))
        assert response.status_code == 302
        assert Screening.objects.get(slug="new-ad").stimulus_duration == pytest.approx(18.0, abs=0.1)

    def test_the_change_page_shows_the_open_link_and_keeps_status_and_owner_read_only(
        self, organizer_client, screening, settings
    ):
        settings.PUBLIC_BASE_URL = "https://study.example.org"
        response = organizer_client.get(admin_url(screening))
        assert f"https://study.example.org/s/{screening.slug}/join/" in response.content.decode()
        assert not {"status", "owner"} & set(response.context["adminform"].form.fields)

    def test_the_face_check_settings_are_in_the_participants_section_and_on_by_default(self, organizer_client):
        page = organizer_client.get(ADD_URL)
        participants = dict(page.context["adminform"].fieldsets)["Participants"]["fields"]
        assert {"require_face_check", "pause_without_face"} <= set(participants)
        form = page.context["adminform"].form
        assert form["require_face_check"].value() is True and form["pause_without_face"].value() is False
        organizer_client.post(ADD_URL, screening_form(pause_without_face="on"))
        created = Screening.objects.get(slug="new-ad")
        assert created.require_face_check and created.pause_without_face

    def test_a_question_can_allow_prefer_not_to_say(self, organizer_client):
        data = screening_form()
        data.update({
            "questions-TOTAL_FORMS": "1", "questions-0-phase": "after", "questions-0-kind": "slider",
            "questions-0-text": "Recommend?", "questions-0-required": "on", "questions-0-order": "0",
            "questions-0-choices": "", "questions-0-allow_prefer_not": "on",
        })  # fmt: skip
        assert 'name="questions-__prefix__-allow_prefer_not"' in organizer_client.get(ADD_URL).content.decode()
        response = organizer_client.post(ADD_URL, data)
        assert response.status_code == 302
        assert Screening.objects.get(slug="new-ad").questions.get().allow_prefer_not is True

    def test_a_superuser_can_hand_a_screening_to_another_organizer(self, client, screening, other_organizer):
        client.force_login(OrganizerFactory(username="root", is_superuser=True))
        response = client.post(admin_url(screening), screening_form(slug=screening.slug, owner=other_organizer.pk))
        assert response.status_code == 302
        screening.refresh_from_db()
        assert screening.owner == other_organizer


class TestDeletion:
    def test_a_draft_nobody_has_joined_can_be_deleted(self, organizer, organizer_client):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        response = organizer_client.post(admin_url(draft, "delete"), {"post": "yes"})
        assert response.status_code == 302
        assert not Screening.objects.filter(pk=draft.pk).exists()

    @pytest.mark.parametrize("status", [Screening.Status.DRAFT, Screening.Status.CLOSED])
    def test_the_confirmation_names_what_a_screening_with_participants_destroys(
        self, organizer, organizer_client, status
    ):
        screening = ScreeningFactory(owner=organizer, status=status)
        participant = ParticipantFactory(screening=screening)
        AnswerFactory(participant=participant)
        EmotionSampleFactory(participant=participant)
        page = organizer_client.get(admin_url(screening, "delete")).content.decode()
        assert "1 participant(s) with 1 answer(s), 1 emotion sample(s)" in page
        assert Screening.objects.filter(pk=screening.pk).exists() and Answer.objects.count() == 1
        assert organizer_client.post(admin_url(screening, "delete"), {"post": "yes"}).status_code == 302
        assert not Screening.objects.filter(pk=screening.pk).exists()
        assert Answer.objects.count() == 0 and EmotionSample.objects.count() == 0

    def test_an_open_screening_cannot_be_deleted(self, screening, organizer_client):
        ParticipantFactory(screening=screening)
        assert organizer_client.get(admin_url(screening)).context["has_delete_permission"] is False
        assert organizer_client.post(admin_url(screening, "delete"), {"post": "yes"}).status_code == 403
        response = run_action(organizer_client, Screening, "delete_selected", [screening], post="yes")
        assert "close it first" in response.content.decode()
        assert Screening.objects.filter(pk=screening.pk).exists()

    def test_another_organizer_cannot_delete_it(self, organizer, other_organizer):
        from django.test import Client

        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        client = Client()
        client.force_login(other_organizer)
        assert client.post(admin_url(draft, "delete"), {"post": "yes"}).status_code == 404
        assert Screening.objects.filter(pk=draft.pk).exists()


class TestOpenAndClose:
    @pytest.mark.parametrize(
        ("missing", "message"),
        [({"stimulus": ""}, "needs a stimulus"), ({"consent_text": "  "}, "needs a consent text")],
    )
    def test_opening_an_incomplete_screening_fails_with_a_message(self, organizer, organizer_client, missing, message):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT, **missing)
        response = run_action(organizer_client, Screening, "open_screenings", [draft])
        assert any(message in shown for shown in messages_shown(response))
        draft.refresh_from_db()
        assert draft.status == Screening.Status.DRAFT

    def test_a_screening_opens_and_closes(self, organizer, organizer_client):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        run_action(organizer_client, Screening, "open_screenings", [draft])
        draft.refresh_from_db()
        assert draft.status == Screening.Status.OPEN and draft.opened_at is not None
        run_action(organizer_client, Screening, "close_screenings", [draft])
        draft.refresh_from_db()
        assert draft.status == Screening.Status.CLOSED and draft.closed_at is not None

    def test_the_open_link_action_shows_the_link_and_how_to_pass_a_panel_id(self, organizer_client, screening):
        response = run_action(organizer_client, Screening, "show_open_links", [screening])
        shown = " ".join(messages_shown(response))
        assert f"http://testserver/s/{screening.slug}/join/" in shown and "?pid=" in shown


class TestInviteLinks:
    def test_the_action_first_asks_how_many_links(self, organizer_client, screening):
        response = run_action(organizer_client, Screening, "generate_invites", [screening])
        assert response.status_code == 200 and "count" in response.context["form"].fields
        assert not screening.participants.exists()

    def test_invite_links_download_as_csv_with_one_unguessable_link_per_row(self, organizer_client, screening):
        response = run_action(organizer_client, Screening, "generate_invites", [screening], count="5", label="wave 1")
        assert response["Content-Type"].startswith("text/csv")
        assert f"{screening.slug}-invites.csv" in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert len(rows) == 5
        tokens = {row["link"].rstrip("/").rsplit("/", 1)[-1] for row in rows}
        assert len(tokens) == 5 and all(len(token) >= 43 for token in tokens)
        assert all(row["link"].startswith("http://testserver/p/") for row in rows)
        assert [row["label"] for row in rows] == [f"wave 1-0{number}" for number in range(1, 6)]
        assert {int(row["participant_id"]) for row in rows} == set(screening.participants.values_list("pk", flat=True))

    def test_an_invite_label_that_looks_like_a_formula_stays_text(self, organizer_client, screening):
        response = run_action(organizer_client, Screening, "generate_invites", [screening], count="1", label="=1+1")
        [row] = csv.DictReader(io.StringIO(response.content.decode()))
        assert row["label"] == "'=1+1-01"

    def test_invite_links_use_the_public_address_when_one_is_set(self, organizer_client, screening, settings):
        settings.PUBLIC_BASE_URL = "https://study.example.org"
        response = run_action(organizer_client, Screening, "generate_invites", [screening], count="1")
        row = next(csv.DictReader(io.StringIO(response.content.decode())))
        assert row["link"].startswith("https://study.example.org/p/")

    @pytest.mark.parametrize("count", ["0", "10001", "many"])
    def test_invite_counts_out_of_range_are_refused_on_the_form(self, organizer_client, screening, count):
        response = run_action(organizer_client, Screening, "generate_invites", [screening], count=count)
        assert response.status_code == 200 and response.context["form"].errors["count"]
        assert not screening.participants.exists()

    def test_invites_are_made_for_one_screening_at_a_time(self, organizer, organizer_client, screening):
        second = ScreeningFactory(owner=organizer)
        response = run_action(organizer_client, Screening, "generate_invites", [screening, second], count="3")
        assert any("exactly one screening" in shown for shown in messages_shown(response))
        assert not Participant.objects.exists()
