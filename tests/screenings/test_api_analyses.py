"""The media analysis API: uploads answered with 202, job status, cancel, files; others' analyses are 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from screenings.analyses import runner
from screenings.models import MediaAnalysis
from tests.media_clips import astronaut_rgb, face_clip, jpeg_bytes

pytestmark = pytest.mark.django_db


def image(name: str = "astronaut.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(astronaut_rgb()), content_type="image/jpeg")


@pytest.fixture
def clip_bytes(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    return face_clip(tmp_path / "clip.mp4").read_bytes()


def test_posting_images_queues_an_analysis(api):
    response = api.post("/api/analyses/images/", {"images": [image("a.jpg"), image("b.jpg")]}, format="multipart")
    assert response.status_code == 202
    assert response.data["kind"] == "images"
    assert response.data["status"] == "queued"
    assert response.data["progress"] == {"percent": 0, "elapsed_seconds": None, "remaining_seconds": None}
    assert MediaAnalysis.objects.get().title == "a.jpg, b.jpg"


def test_a_finished_video_analysis_lists_its_files_with_addresses(api, clip_bytes):
    response = api.post(
        "/api/analyses/video/",
        {"video": SimpleUploadedFile("clip.mp4", clip_bytes), "interval": "0.5", "faces": "largest"},
        format="multipart",
    )
    assert response.status_code == 202
    runner.analysis_run(analysis_id=response.data["id"])
    detail = api.get(f"/api/analyses/{response.data['id']}/")
    assert detail.data["status"] == "succeeded"
    assert detail.data["progress"]["percent"] == 100
    assert detail.data["result"]["sampled_times"] == 6
    files = {item["identifier"]: item for item in detail.data["files"]}
    assert set(files) == {"timeline", "table", "plot", "video", "summary"}
    csv = api.get(files["timeline"]["url"])
    assert csv.status_code == 200
    assert b"".join(csv.streaming_content).startswith(b"time,face,")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"interval": "0"}, "interval"),
        ({"interval": "-2"}, "interval"),
        ({"interval": "nan"}, "interval"),
        ({"interval": "a second"}, "interval"),
        ({}, "interval"),
        ({"interval": "1", "faces": "several"}, "faces"),
    ],
)
def test_bad_video_fields_are_refused_by_name(api, clip_bytes, fields, field):
    response = api.post(
        "/api/analyses/video/", {"video": SimpleUploadedFile("clip.mp4", clip_bytes), **fields}, format="multipart"
    )
    assert response.status_code == 400
    assert field in response.data
    assert not MediaAnalysis.objects.exists()


def test_a_video_post_without_a_file_is_refused(api):
    response = api.post("/api/analyses/video/", {"interval": "1"}, format="multipart")
    assert response.status_code == 400
    assert "video" in response.data


def test_json_instead_of_a_file_upload_is_refused(api):
    response = api.post("/api/analyses/images/", {"images": ["aGVsbG8="]}, format="json")
    assert response.status_code == 415


def test_an_upload_over_the_limit_is_refused_with_the_limit(api, settings):
    settings.ANALYSIS_MAX_VIDEO_MEGABYTES = 1
    big = SimpleUploadedFile("big.mp4", bytes(1024 * 1024 + 1))
    response = api.post("/api/analyses/video/", {"video": big, "interval": "1"}, format="multipart")
    assert response.status_code == 400
    assert "larger than the limit of 1 MB" in response.data["detail"]


def test_cancel_through_the_api(api):
    analysis_id = api.post("/api/analyses/images/", {"images": [image()]}, format="multipart").data["id"]
    response = api.post(f"/api/analyses/{analysis_id}/cancel/")
    assert response.status_code == 200
    assert response.data["status"] == "cancelled"


def test_the_list_holds_only_the_organizers_analyses(api, other_api):
    api.post("/api/analyses/images/", {"images": [image("mine.jpg")]}, format="multipart")
    other_api.post("/api/analyses/images/", {"images": [image("theirs.jpg")]}, format="multipart")
    titles = [item["title"] for item in api.get("/api/analyses/").data["results"]]
    assert titles == ["mine.jpg"]


def test_another_organizer_is_refused_every_address_of_an_analysis(api, other_api, clip_bytes):
    response = api.post(
        "/api/analyses/video/",
        {"video": SimpleUploadedFile("clip.mp4", clip_bytes), "interval": "1"},
        format="multipart",
    )
    pk = response.data["id"]
    runner.analysis_run(analysis_id=pk)
    for method, url in [
        ("get", f"/api/analyses/{pk}/"),
        ("post", f"/api/analyses/{pk}/cancel/"),
        ("get", f"/api/analyses/{pk}/files/timeline.csv"),
        ("delete", f"/api/analyses/{pk}/"),
    ]:
        assert getattr(other_api, method)(url).status_code == 404, url
    assert MediaAnalysis.objects.filter(pk=pk, status="succeeded").exists()


def test_deleting_through_the_api(api):
    analysis_id = api.post("/api/analyses/images/", {"images": [image()]}, format="multipart").data["id"]
    assert api.delete(f"/api/analyses/{analysis_id}/").status_code == 204
    assert not MediaAnalysis.objects.exists()
