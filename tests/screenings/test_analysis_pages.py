"""The organizer's media analysis pages: uploads, the job's page, result files; another organizer gets 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screenings.analyses import jobs, runner
from screenings.models import MediaAnalysis
from tests.media_clips import astronaut_rgb, face_clip, jpeg_bytes

pytestmark = pytest.mark.django_db


def image(name: str = "astronaut.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(astronaut_rgb()), content_type="image/jpeg")


@pytest.fixture
def finished_video(organizer, tmp_path) -> MediaAnalysis:  # type: ignore[no-untyped-def]
    clip = face_clip(tmp_path / "session.mp4")
    video = SimpleUploadedFile("session.mp4", clip.read_bytes(), content_type="video/mp4")
    analysis = jobs.analysis_create_video(owner=organizer, video=video, interval=1)
    runner.analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    return analysis


def test_the_page_offers_both_uploads_and_lists_only_the_organizers_analyses(
    organizer_client, organizer, other_organizer
):
    jobs.analysis_create_images(owner=organizer, images=[image("mine.jpg")])
    jobs.analysis_create_images(owner=other_organizer, images=[image("theirs.jpg")])
    response = organizer_client.get(reverse("organizer-analyses"))
    assert response.status_code == 200
    assert b"mine.jpg" in response.content
    assert b"theirs.jpg" not in response.content
    assert b'name="images"' in response.content and b'name="interval"' in response.content


def test_the_pages_need_an_organizer(client):
    response = client.get(reverse("organizer-analyses"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_uploading_images_queues_them_and_shows_their_page(organizer_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = organizer_client.post(
            reverse("organizer-analyses-images"), {"images": [image("a.jpg"), image("b.jpg")]}
        )
    analysis = MediaAnalysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("organizer-analysis", args=[analysis.pk])
    assert analysis.kind == MediaAnalysis.Kind.IMAGES and len(analysis.inputs) == 2
    assert len(callbacks) == 1, "the job is queued once the upload is stored"
    page = organizer_client.get(response["Location"])
    assert b"Queued" in page.content and b"Cancel" in page.content


def test_the_finished_page_shows_the_plot_the_video_and_the_downloads(organizer_client, finished_video):
    page = organizer_client.get(reverse("organizer-analysis", args=[finished_video.pk]))
    assert page.status_code == 200
    for name in ("timeline.png", "annotated.mp4", "timeline.csv", "table.csv"):
        assert reverse("organizer-analysis-file", args=[finished_video.pk, name]).encode() in page.content


def test_the_annotated_video_is_served_with_range_requests(organizer_client, finished_video):
    url = reverse("organizer-analysis-file", args=[finished_video.pk, "annotated.mp4"])
    response = organizer_client.get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response["Content-Type"] == "video/mp4"
    assert len(b"".join(response.streaming_content)) == 100


def test_a_download_link_saves_the_file(organizer_client, finished_video):
    url = reverse("organizer-analysis-file", args=[finished_video.pk, "timeline.csv"])
    response = organizer_client.get(url + "?download=1")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="timeline.csv"'
    assert b"".join(response.streaming_content).startswith(b"time,face,")


@pytest.mark.parametrize("name", ["../input/001-session.mp4", "input/001-session.mp4", "nothing.csv"])
def test_only_result_files_are_served(organizer_client, finished_video, name):
    response = organizer_client.get(reverse("organizer-analysis-file", args=[finished_video.pk, name]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"interval": "0"}, b"greater than or equal to 0.1"),
        ({"interval": "-1"}, b"greater than or equal to 0.1"),
        ({"interval": "soon"}, b"Enter a number"),
        ({"interval": "1", "faces": "some"}, b"Select a valid choice"),
        ({"interval": "1", "no_video": True}, b"This field is required"),
    ],
)
def test_a_bad_video_upload_is_refused_with_a_message_and_stores_nothing(organizer_client, data, message, tmp_path):
    fields = {key: value for key, value in data.items() if key != "no_video"}
    if "no_video" not in data:
        fields["video"] = SimpleUploadedFile("clip.mp4", face_clip(tmp_path / "clip.mp4").read_bytes())
    response = organizer_client.post(reverse("organizer-analyses-video"), fields)
    assert response.status_code == 400
    assert message in response.content
    assert not MediaAnalysis.objects.exists()
    assert not Path(default_storage.path("analyses")).exists()


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(organizer_client, settings):
    settings.ANALYSIS_MAX_IMAGE_MEGABYTES = 1
    big = SimpleUploadedFile("big.jpg", bytes(1024 * 1024 + 10), content_type="image/jpeg")
    response = organizer_client.post(reverse("organizer-analyses-images"), {"images": [big]})
    assert response.status_code == 400
    assert b"larger than the limit of 1 MB" in response.content
    assert not MediaAnalysis.objects.exists()


def test_no_images_chosen_is_refused(organizer_client):
    response = organizer_client.post(reverse("organizer-analyses-images"), {})
    assert response.status_code == 400
    assert b"Choose at least one image" in response.content or b"This field is required" in response.content


def test_cancel_on_the_page_cancels_a_queued_analysis(organizer_client, organizer):
    analysis = jobs.analysis_create_images(owner=organizer, images=[image()])
    response = organizer_client.post(reverse("organizer-analysis-cancel", args=[analysis.pk]), follow=True)
    analysis.refresh_from_db()
    assert analysis.status == MediaAnalysis.Status.CANCELLED
    assert b"The analysis was cancelled." in response.content


def test_a_failed_analysis_shows_its_reason(organizer_client, organizer):
    notes = SimpleUploadedFile("notes.mp4", b"plain text, no video here" * 20)
    analysis = jobs.analysis_create_video(owner=organizer, video=notes, interval=1)
    runner.analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    page = organizer_client.get(reverse("organizer-analysis", args=[analysis.pk]))
    assert analysis.status == MediaAnalysis.Status.FAILED
    assert analysis.error.encode() in page.content


def test_another_organizer_is_refused_every_page_of_an_analysis(other_organizer_client, finished_video):
    pk = finished_video.pk
    for method, url in [
        ("get", reverse("organizer-analysis", args=[pk])),
        ("get", reverse("organizer-analysis-file", args=[pk, "timeline.csv"])),
        ("post", reverse("organizer-analysis-cancel", args=[pk])),
        ("post", reverse("organizer-analysis-delete", args=[pk])),
        ("get", reverse("admin:screenings_mediaanalysis_change", args=[pk])),
    ]:
        assert getattr(other_organizer_client, method)(url).status_code == 404, url
    assert MediaAnalysis.objects.filter(pk=pk).exists()


def test_deleting_on_the_page_removes_the_analysis(organizer_client, finished_video):
    response = organizer_client.post(reverse("organizer-analysis-delete", args=[finished_video.pk]))
    assert response.status_code == 302
    assert not MediaAnalysis.objects.exists()
    assert not Path(default_storage.path(finished_video.folder)).exists()
