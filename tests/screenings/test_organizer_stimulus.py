"""A screening's stimulus for its organizers: a permission-checked address (the media folder is not served),
given by the API and the admin, and an upload is accepted only when its content is a video."""

import wave
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client
from django.urls import reverse

from screenings.models import Screening
from screenings.models.study import validate_stimulus_video
from screenings.services.demo import stimulus_video_write
from tests.factories import OrganizerFactory, ScreeningFactory
from tests.screenings.admin_helpers import admin_url, screening_form

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:screenings_screening_add")
NEW_SCREENING = {
    "title": "Summer ad",
    "slug": "summer-ad",
    "consent_text": "Your webcam reads your expressions while you watch.",
    "sampling_interval": "2",
}


def stimulus_url(screening: Screening) -> str:
    return reverse("organizer-stimulus", args=[screening.pk])


def sound_file(path: Path) -> Path:
    """A WAV file: it opens as media, but has no video track."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\0\0" * 8000)
    return path


@pytest.fixture
def clip_bytes(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    path = tmp_path / "clip.mp4"
    stimulus_video_write(path, width=160, height=96)
    return path.read_bytes()


class TestStimulusPage:
    def test_the_organizer_gets_the_file_whole_and_in_ranges(self, organizer_client, screening):
        content = screening.stimulus.open("rb").read()
        whole = organizer_client.get(stimulus_url(screening))
        assert whole.status_code == 200 and b"".join(whole.streaming_content) == content
        part = organizer_client.get(stimulus_url(screening), HTTP_RANGE="bytes=4-11")
        assert part.status_code == 206 and b"".join(part.streaming_content) == content[4:12]

    def test_another_organizer_gets_404(self, other_organizer_client, screening):
        assert other_organizer_client.get(stimulus_url(screening)).status_code == 404

    def test_a_collaborator_may_preview_it(self, screening):
        collaborator = OrganizerFactory(username="colin")
        screening.collaborators.add(collaborator)
        client = Client()
        client.force_login(collaborator)
        assert client.get(stimulus_url(screening)).status_code == 200

    def test_an_anonymous_visitor_is_sent_to_the_login(self, client, screening):
        response = client.get(stimulus_url(screening))
        assert response.status_code == 302 and "login" in response.url

    def test_a_screening_with_an_external_stimulus_has_no_file_to_serve(self, organizer, organizer_client):
        screening = ScreeningFactory(owner=organizer, stimulus="", stimulus_url="https://cdn.example.org/ad.mp4")
        assert organizer_client.get(stimulus_url(screening)).status_code == 404

    def test_a_stimulus_file_missing_from_storage_is_404_not_an_error(self, organizer_client, screening):
        screening.stimulus.storage.delete(screening.stimulus.name)
        assert organizer_client.get(stimulus_url(screening)).status_code == 404


class TestStimulusAddress:
    def test_the_api_gives_an_address_its_token_can_fetch_the_stimulus_from(self, api, screening):
        body = api.get(f"/api/screenings/{screening.pk}/").json()
        assert body["stimulus"] == f"http://testserver/api/screenings/{screening.pk}/stimulus/"
        response = api.get(body["stimulus"], HTTP_RANGE="bytes=0-3")
        assert response.status_code == 206 and b"".join(response.streaming_content) == b"\x00\x00\x00\x18"

    def test_another_organizers_api_client_gets_404_for_the_screening_and_its_stimulus(self, other_api, screening):
        assert other_api.get(f"/api/screenings/{screening.pk}/").status_code == 404
        assert other_api.get(f"/api/screenings/{screening.pk}/stimulus/").status_code == 404

    def test_the_api_has_no_stimulus_to_give_for_an_external_address(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, stimulus="", stimulus_url="https://cdn.example.org/ad.mp4")
        assert api.get(f"/api/screenings/{screening.pk}/stimulus/").status_code == 404

    def test_a_screening_without_a_file_has_no_stimulus_address(self, api, organizer):
        screening = ScreeningFactory(owner=organizer, stimulus="", stimulus_url="https://cdn.example.org/ad.mp4")
        body = api.get(f"/api/screenings/{screening.pk}/").json()
        assert body["stimulus"] is None and body["stimulus_url"] == "https://cdn.example.org/ad.mp4"

    def test_the_admins_currently_link_is_the_stimulus_page(self, organizer_client, screening):
        page = organizer_client.get(admin_url(screening)).content.decode()
        assert f'href="{stimulus_url(screening)}"' in page
        assert "/media/" not in page


class TestStimulusContent:
    def test_the_api_refuses_a_file_that_only_looks_like_a_video(self, api):
        fake = SimpleUploadedFile("trailer.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(2048), content_type="video/mp4")
        response = api.post("/api/screenings/", {**NEW_SCREENING, "stimulus": fake}, format="multipart")
        assert response.status_code == 400
        assert "cannot be played" in " ".join(response.json()["stimulus"])
        assert not Screening.objects.filter(slug="summer-ad").exists()

    def test_the_api_refuses_a_sound_file_named_like_a_video(self, api, tmp_path):
        sound = SimpleUploadedFile("trailer.mp4", sound_file(tmp_path / "sound.wav").read_bytes())
        response = api.post("/api/screenings/", {**NEW_SCREENING, "stimulus": sound}, format="multipart")
        assert response.status_code == 400
        assert "no video track" in " ".join(response.json()["stimulus"])

    def test_the_api_accepts_a_real_video(self, api, clip_bytes):
        video = SimpleUploadedFile("clip.mp4", clip_bytes, content_type="video/mp4")
        response = api.post("/api/screenings/", {**NEW_SCREENING, "stimulus": video}, format="multipart")
        assert response.status_code == 201, response.json()

    def test_the_admin_refuses_a_file_that_is_not_a_video_with_a_message_on_the_field(self, organizer_client):
        fake = SimpleUploadedFile("trailer.webm", b"plain text, no video here" * 20)
        response = organizer_client.post(ADD_URL, screening_form(stimulus=fake))
        assert response.status_code == 200
        assert "cannot be played" in " ".join(response.context["adminform"].form.errors["stimulus"])
        assert not Screening.objects.filter(slug="new-ad").exists()
        # A refused file is not kept for the next try, as a valid one on a form with other errors is.
        assert "kept from your last try" not in response.text

    def test_a_large_upload_held_on_disk_is_read_from_its_temporary_file(self, clip_bytes):
        upload = TemporaryUploadedFile("clip.mp4", "video/mp4", len(clip_bytes), None)
        upload.write(clip_bytes)
        upload.seek(0)
        validate_stimulus_video(upload)

    def test_a_stored_stimulus_is_not_read_again_when_the_screening_is_edited(self, organizer_client, screening):
        # The factory's stored stimulus is not a real video; it was "checked" when it was stored.
        response = organizer_client.post(admin_url(screening), screening_form(slug=screening.slug))
        assert response.status_code == 302
