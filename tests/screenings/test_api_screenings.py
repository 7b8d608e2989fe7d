"""The screenings endpoints of the organizer API: list, create, update, open and close, delete."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from screenings import services
from screenings.models import EmotionSample, Participant, Screening
from screenings.services.demo import stimulus_video_write
from tests.factories import EmotionSampleFactory, OrganizerFactory, ParticipantFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/screenings/"
NEW_SCREENING = {
    "title": "Summer ad",
    "slug": "summer-ad",
    "consent_text": "Your webcam reads your expressions while you watch.",
    "stimulus_url": "https://cdn.example.org/ad.mp4",
    "sampling_interval": "2",
}


def detail_url(screening: Screening) -> str:
    return f"/api/screenings/{screening.pk}/"


class TestScreeningList:
    def test_it_lists_own_and_shared_screenings_only(self, api, organizer, other_organizer):
        own = ScreeningFactory(owner=organizer)
        shared = ScreeningFactory(owner=other_organizer)
        shared.collaborators.add(organizer)
        ScreeningFactory(owner=other_organizer)
        ids = {row["id"] for row in api.get(LIST_URL).json()["results"]}
        assert ids == {own.pk, shared.pk}

    def test_a_superuser_sees_every_screening(self, screening, other_organizer):
        ScreeningFactory(owner=other_organizer)
        client = APIClient()
        client.force_authenticate(OrganizerFactory(username="root", is_superuser=True))
        assert client.get(LIST_URL).json()["count"] == 2

    def test_each_row_counts_invited_completed_and_samples(self, api, screening):
        ParticipantFactory(screening=screening, state=Participant.State.COMPLETED)
        EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        row = api.get(LIST_URL).json()["results"][0]
        assert (row["invited_count"], row["completed_count"], row["sample_count"]) == (2, 1, 1)

    def test_the_list_takes_the_same_number_of_queries_for_many_screenings(self, api, organizer):
        ScreeningFactory(owner=organizer)
        with CaptureQueriesContext(connection) as few:
            assert api.get(LIST_URL).status_code == 200
        for _ in range(8):
            screening = ScreeningFactory(owner=organizer)
            screening.collaborators.add(OrganizerFactory())
            EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        with CaptureQueriesContext(connection) as many:
            assert api.get(LIST_URL).json()["count"] == 9
        assert len(many) == len(few)


class TestScreeningCreate:
    def test_creating_a_screening_makes_the_caller_its_owner_and_a_draft(self, api, organizer):
        response = api.post(LIST_URL, NEW_SCREENING, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["owner"], body["status"], body["sampling_interval"]) == (organizer.username, "draft", "2.00")
        assert body["open_link"] == "http://testserver/s/summer-ad/join/"
        assert (body["invited_count"], body["completed_count"], body["sample_count"]) == (0, 0, 0)
        assert Screening.objects.get(slug="summer-ad").owner == organizer

    def test_status_owner_and_collaborators_sent_in_the_body_are_ignored(self, api, organizer, other_organizer):
        payload = {**NEW_SCREENING, "status": "open", "owner": other_organizer.username, "collaborators": ["mallory"]}
        assert api.post(LIST_URL, payload, format="json").status_code == 201
        screening = Screening.objects.get(slug="summer-ad")
        assert (screening.status, screening.owner) == (Screening.Status.DRAFT, organizer)
        assert not screening.collaborators.exists()

    def test_the_open_link_uses_the_public_base_url_when_set(self, api, settings):
        settings.PUBLIC_BASE_URL = "https://study.example.org"
        response = api.post(LIST_URL, NEW_SCREENING, format="json")
        assert response.json()["open_link"] == "https://study.example.org/s/summer-ad/join/"

    def test_a_stimulus_file_can_be_uploaded_and_its_duration_is_read(self, api, tmp_path):
        path = tmp_path / "clip.mp4"
        stimulus_video_write(path, width=160, height=96)
        video = SimpleUploadedFile("clip.mp4", path.read_bytes(), content_type="video/mp4")
        payload = {**NEW_SCREENING, "stimulus_url": "", "stimulus": video}
        response = api.post(LIST_URL, payload, format="multipart")
        assert response.status_code == 201, response.json()
        screening = Screening.objects.get(slug="summer-ad")
        assert response.json()["stimulus"] == f"http://testserver/api/screenings/{screening.pk}/stimulus/"
        assert screening.stimulus.name.endswith(".mp4")
        assert screening.stimulus_duration == pytest.approx(18.0, abs=0.1)

    def test_a_stimulus_file_that_is_not_a_video_is_refused(self, api):
        document = SimpleUploadedFile("notes.txt", b"not a video", content_type="text/plain")
        payload = {**NEW_SCREENING, "stimulus_url": "", "stimulus": document}
        response = api.post(LIST_URL, payload, format="multipart")
        assert response.status_code == 400
        assert "extension" in str(response.json()["stimulus"])

    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({"sampling_interval": "0.1"}, "sampling_interval", "greater than or equal to 0.2"),
            ({"sampling_interval": "0.19"}, "sampling_interval", "greater than or equal to 0.2"),
            ({"sampling_interval": "-1"}, "sampling_interval", "greater than or equal to 0.2"),
            ({"sampling_interval": "often"}, "sampling_interval", "A valid number is required"),
            ({"slug": "taken"}, "slug", "already exists"),
            ({"slug": "has spaces"}, "slug", "valid"),
            ({"title": ""}, "title", "may not be blank"),
            ({"consent_text": ""}, "consent_text", "may not be blank"),
            ({"stimulus_url": "not a url"}, "stimulus_url", "valid URL"),
            ({"stimulus_duration": -5}, "stimulus_duration", "greater than or equal to 0"),
            ({"participant_quota": -1}, "participant_quota", "greater than or equal to 0"),
            ({"capture_source": "phone"}, "capture_source", "not a valid choice"),
            ({"completion_redirect_url": "panel"}, "completion_redirect_url", "valid URL"),
        ],
    )
    def test_bad_values_are_refused_with_a_message_on_the_field(self, api, payload, field, message):
        ScreeningFactory(slug="taken")
        response = api.post(LIST_URL, {**NEW_SCREENING, **payload}, format="json")
        assert response.status_code == 400
        assert message in " ".join(response.json()[field])
        assert not Screening.objects.filter(title="Summer ad").exists()

    def test_the_smallest_sampling_interval_is_accepted(self, api):
        response = api.post(LIST_URL, {**NEW_SCREENING, "sampling_interval": "0.2"}, format="json")
        assert response.status_code == 201, response.json()
        assert Screening.objects.get(slug="summer-ad").sampling_interval == Decimal("0.2")

    @pytest.mark.parametrize("field", ["title", "slug", "consent_text"])
    def test_a_required_field_left_out_is_named(self, api, field):
        payload = {key: value for key, value in NEW_SCREENING.items() if key != field}
        response = api.post(LIST_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json()[field] == ["This field is required."]


class TestScreeningUpdate:
    def test_an_organizer_reads_one_screening(self, api, screening):
        body = api.get(detail_url(screening)).json()
        assert (body["id"], body["slug"], body["status"]) == (screening.pk, screening.slug, "open")
        assert body["open_link"] == f"http://testserver/s/{screening.slug}/join/"

    def test_patch_changes_only_the_fields_sent(self, api, screening):
        response = api.patch(detail_url(screening), {"title": "Renamed", "sampling_interval": "0.5"}, format="json")
        assert response.status_code == 200, response.json()
        screening.refresh_from_db()
        assert (screening.title, screening.sampling_interval) == ("Renamed", Decimal("0.5"))
        assert screening.slug.startswith("trailer-test-")

    def test_the_sampling_interval_cannot_change_once_samples_are_recorded(self, api, screening):
        EmotionSampleFactory(participant=ParticipantFactory(screening=screening))
        response = api.patch(detail_url(screening), {"sampling_interval": "0.5"}, format="json")
        assert response.status_code == 400
        assert "cannot change once emotion samples are recorded" in str(response.json()["sampling_interval"])
        screening.refresh_from_db()
        assert screening.sampling_interval == Decimal("1")
        assert api.patch(detail_url(screening), {"title": "Renamed"}, format="json").status_code == 200

    def test_put_replaces_the_editable_fields(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, stimulus="", stimulus_url="https://cdn.example.org/old.mp4")
        response = api.put(detail_url(screening), NEW_SCREENING, format="json")
        assert response.status_code == 200, response.json()
        screening.refresh_from_db()
        assert (screening.title, screening.slug, screening.stimulus_url) == (
            "Summer ad",
            "summer-ad",
            "https://cdn.example.org/ad.mp4",
        )

    def test_put_without_the_required_fields_is_refused(self, api, screening):
        response = api.put(detail_url(screening), {"title": "Only a title"}, format="json")
        assert response.status_code == 400
        assert {"slug", "consent_text"} <= set(response.json())

    def test_changing_the_slug_to_one_already_taken_is_refused(self, api, screening):
        ScreeningFactory(slug="taken")
        response = api.patch(detail_url(screening), {"slug": "taken"}, format="json")
        assert response.status_code == 400
        assert "already exists" in response.json()["slug"][0]

    def test_keeping_its_own_slug_is_not_a_duplicate(self, api, screening):
        assert api.patch(detail_url(screening), {"slug": screening.slug}, format="json").status_code == 200

    def test_a_bad_sampling_interval_is_refused_on_update(self, api, screening):
        response = api.patch(detail_url(screening), {"sampling_interval": "0.1"}, format="json")
        assert response.status_code == 400
        assert "greater than or equal to 0.2" in response.json()["sampling_interval"][0]
        screening.refresh_from_db()
        assert screening.sampling_interval == Decimal("1")

    def test_a_file_and_a_url_together_are_refused(self, api, screening):
        response = api.patch(detail_url(screening), {"stimulus_url": "https://cdn.example.org/x.mp4"}, format="json")
        assert response.status_code == 400
        assert response.json()["non_field_errors"] == ["Give either a stimulus file or a stimulus URL, not both."]

    def test_removing_the_file_lets_a_screening_switch_to_a_url(self, api, screening):
        payload = {"stimulus": None, "stimulus_url": "https://cdn.example.org/x.mp4"}
        response = api.patch(detail_url(screening), payload, format="json")
        assert response.status_code == 200, response.json()
        screening.refresh_from_db()
        assert not screening.stimulus and screening.stimulus_url == "https://cdn.example.org/x.mp4"

    def test_status_owner_and_timestamps_cannot_be_written(self, api, organizer, other_organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        payload = {"status": "open", "owner": other_organizer.username, "opened_at": "2030-01-01T00:00:00Z"}
        assert api.patch(detail_url(screening), payload, format="json").status_code == 200
        screening.refresh_from_db()
        assert (screening.status, screening.owner, screening.opened_at) == (Screening.Status.DRAFT, organizer, None)

    def test_a_collaborator_may_edit_a_shared_screening(self, api, organizer, other_organizer):
        shared = ScreeningFactory(owner=other_organizer)
        shared.collaborators.add(organizer)
        assert api.patch(detail_url(shared), {"title": "Shared"}, format="json").status_code == 200
        body = api.get(detail_url(shared)).json()
        assert (body["owner"], body["collaborators"]) == ("mallory", ["alice"])


class TestOpenAndClose:
    def test_a_draft_opens_and_then_closes(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        opened = api.post(detail_url(screening) + "open/")
        assert opened.status_code == 200
        assert opened.json()["status"] == "open" and opened.json()["opened_at"]
        closed = api.post(detail_url(screening) + "close/")
        assert closed.status_code == 200
        assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
        screening.refresh_from_db()
        assert screening.status == Screening.Status.CLOSED

    def test_the_actions_return_the_counts_too(self, api, screening):
        ParticipantFactory(screening=screening)
        assert api.post(detail_url(screening) + "close/").json()["invited_count"] == 1

    def test_opening_without_a_stimulus_says_why(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT, stimulus="")
        response = api.post(detail_url(screening) + "open/")
        assert response.status_code == 400
        assert response.json() == {"detail": "A screening needs a stimulus video before it can open."}
        screening.refresh_from_db()
        assert screening.status == Screening.Status.DRAFT

    def test_opening_without_a_consent_text_says_why(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT, consent_text="  ")
        response = api.post(detail_url(screening) + "open/")
        assert response.status_code == 400
        assert response.json() == {"detail": "A screening needs a consent text before it can open."}

    def test_the_actions_accept_only_post(self, api, screening):
        assert api.get(detail_url(screening) + "open/").status_code == 405
        assert api.get(detail_url(screening) + "close/").status_code == 405


class TestScreeningDelete:
    def test_a_draft_without_participants_can_be_deleted(self, api, organizer):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        assert api.delete(detail_url(draft)).status_code == 204
        assert not Screening.objects.filter(pk=draft.pk).exists()

    def test_a_screening_with_participants_needs_a_confirmation_naming_what_it_destroys(self, api, organizer):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        participant = ParticipantFactory(screening=draft)
        EmotionSampleFactory(participant=participant)
        response = api.delete(detail_url(draft))
        assert response.status_code == 409
        body = response.json()
        assert "1 participant(s) with 0 answer(s), 1 emotion sample(s)" in body["detail"]
        assert body["destroys"] == {"participants": 1, "answers": 0, "samples": 1, "kept_frames": 0}
        assert api.delete(detail_url(draft) + "?confirm=wrong-slug").status_code == 409
        assert Screening.objects.filter(pk=draft.pk).exists() and EmotionSample.objects.count() == 1

    def test_confirmed_deletion_removes_the_data_the_stimulus_and_the_kept_frames(
        self, api, organizer, django_capture_on_commit_callbacks
    ):
        closed = ScreeningFactory(owner=organizer, status=Screening.Status.CLOSED, keep_raw_frames=True)
        sample = EmotionSampleFactory(participant=ParticipantFactory(screening=closed))
        services.sample_frame_keep(sample=sample, content=ContentFile(b"jpeg bytes"))
        files = [Path(closed.stimulus.path), Path(EmotionSample.objects.get().frame.path)]
        assert all(path.exists() for path in files)
        with django_capture_on_commit_callbacks(execute=True):
            assert api.delete(detail_url(closed) + f"?confirm={closed.slug}").status_code == 204
        assert not Screening.objects.filter(pk=closed.pk).exists() and not EmotionSample.objects.exists()
        assert not any(path.exists() for path in files)

    def test_an_open_screening_is_kept_until_it_is_closed(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, status=Screening.Status.OPEN)
        response = api.delete(detail_url(screening) + f"?confirm={screening.slug}")
        assert response.status_code == 409 and "close it first" in response.json()["detail"]
        assert Screening.objects.filter(pk=screening.pk).exists()

    def test_another_organizer_cannot_delete_it(self, other_api, organizer):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        assert other_api.delete(detail_url(draft) + f"?confirm={draft.slug}").status_code == 404
        assert Screening.objects.filter(pk=draft.pk).exists()


class TestAnotherOrganizer:
    def test_the_list_leaves_out_another_organizers_screenings(self, other_api, screening):
        assert other_api.get(LIST_URL).json()["count"] == 0

    @pytest.mark.parametrize(
        ("method", "suffix", "payload"),
        [
            ("get", "", None),
            ("put", "", NEW_SCREENING),
            ("patch", "", {"title": "Taken over"}),
            ("patch", "", {"sampling_interval": "0.1"}),
            ("delete", "", None),
            ("post", "open/", None),
            ("post", "close/", None),
        ],
    )
    def test_another_organizer_gets_404_and_changes_nothing(self, other_api, screening, method, suffix, payload):
        response = getattr(other_api, method)(detail_url(screening) + suffix, payload, format="json")
        assert response.status_code == 404
        screening.refresh_from_db()
        assert screening.status == Screening.Status.OPEN and screening.title.startswith("Trailer test")

    def test_a_screening_that_does_not_exist_is_404_too(self, api):
        assert api.get("/api/screenings/999999/").status_code == 404
