"""The organizer's own labelled faces: a zip uploaded on the page or through the API, evaluated as a background job;
bad zips refused with nothing stored; another organizer gets 404 for every address of it."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from inference import EMOTIONS
from screenings.analyses import jobs, runner
from screenings.analyses.progress import ProgressReporter
from screenings.analyses.storage import UploadRefused
from screenings.models import MediaAnalysis
from tests.labelled_zips import SYNONYM_FOLDERS, encoded, face_files, fer_faces, labelled_zip, subset

pytestmark = pytest.mark.django_db
Status = MediaAnalysis.Status
OUTPUTS = {"evaluation.json", "classes.csv", "confusion.csv", "images.csv", "confusion.png"}


@pytest.fixture(scope="module")
def faces():  # type: ignore[no-untyped-def]
    return subset(fer_faces(), 40)


@pytest.fixture
def zip_bytes(faces) -> bytes:  # type: ignore[no-untyped-def]
    files = face_files(faces, image_format="JPEG")
    files["study/contempt/smirk.jpg"] = encoded(faces.images[0], "JPEG")
    files["study/anger/notes.jpg"] = b"not an image"
    return labelled_zip(files)


def upload(content: bytes, name: str = "faces.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/zip")


def run(analysis_id: int) -> MediaAnalysis:
    runner.analysis_run(analysis_id=analysis_id)
    return MediaAnalysis.objects.get(pk=analysis_id)


def analysis_folder_exists() -> bool:
    return Path(default_storage.path("analyses")).exists()


@pytest.fixture
def finished(organizer, zip_bytes) -> MediaAnalysis:  # type: ignore[no-untyped-def]
    analysis = jobs.analysis_create_labelled(owner=organizer, archive=upload(zip_bytes), detect_faces=False)
    return run(analysis.pk)


def test_the_evaluation_gives_accuracy_per_emotion_figures_and_the_confusion_matrix(finished, faces):
    assert finished.status == Status.SUCCEEDED, finished.error
    result = finished.result
    assert result["n"] == 40 and result["detect_faces"] is False
    assert sum(sum(row) for row in result["confusion"]) == 40
    assert result["accuracy"] == pytest.approx(np.trace(np.array(result["confusion"])) / 40)
    assert {emotion: figures["images"] for emotion, figures in result["per_class"].items()} == faces.class_counts()
    assert result["skipped_folders"] == {"contempt": 1}
    assert result["unreadable"] == 1 and result["unreadable_images"][0]["name"] == "study/anger/notes.jpg"
    assert "1 image could not be read" in finished.message and "contempt (1 file)" in finished.message
    assert {item["name"] for item in finished.outputs} == OUTPUTS
    assert finished.progress == 1.0


def test_the_page_shows_the_table_the_matrix_and_the_downloads(organizer_client, finished):
    page = organizer_client.get(reverse("organizer-analysis", args=[finished.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{finished.result['accuracy']:.1%}" in html
    assert 'id="per-class"' in html and 'id="confusion"' in html
    for emotion in EMOTIONS:
        assert f"<th>{emotion}</th>" in html
    assert "study/anger/notes.jpg" in html, "the unreadable image is named"
    for name in OUTPUTS:
        assert reverse("organizer-analysis-file", args=[finished.pk, name]) in html


def test_the_downloads_are_the_json_and_csv_of_the_result(organizer_client, finished):
    def download(name: str) -> str:
        response = organizer_client.get(reverse("organizer-analysis-file", args=[finished.pk, name]) + "?download=1")
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        return b"".join(response.streaming_content).decode()

    assert json.loads(download("evaluation.json"))["confusion"] == finished.result["confusion"]
    classes = list(csv.DictReader(io.StringIO(download("classes.csv"))))
    assert {row["emotion"]: float(row["recall"]) for row in classes} == pytest.approx(
        {emotion: figures["recall"] for emotion, figures in finished.result["per_class"].items()}, abs=1e-4
    )
    images = list(csv.DictReader(io.StringIO(download("images.csv"))))
    assert len(images) == 41


def test_uploading_on_the_page_queues_the_evaluation(organizer_client, zip_bytes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = organizer_client.post(reverse("organizer-analyses-labelled"), {"archive": upload(zip_bytes)})
    analysis = MediaAnalysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("organizer-analysis", args=[analysis.pk])
    assert (analysis.kind, analysis.title, analysis.status) == (MediaAnalysis.Kind.LABELLED, "faces.zip", Status.QUEUED)
    assert analysis.detect_faces is False, "an unticked box turns the detector off"
    assert len(callbacks) == 1
    listing = organizer_client.get(reverse("organizer-analyses"))
    assert b'name="archive"' in listing.content and b'name="detect_faces"' in listing.content


def test_through_the_api_with_the_detector_the_pasted_faces_are_found_and_empty_walls_count_as_wrong(api, faces):
    from inference.synthetic_frames import pasted_frames

    files = {
        f"{SYNONYM_FOLDERS[EMOTIONS[int(label)]]}/{number}.jpg": frame.jpeg()
        for number, (frame, label) in enumerate(
            zip(pasted_frames(faces.images[:16], seed=2), faces.labels[:16], strict=True)
        )
    }
    wall = np.linspace(80, 200, 640, dtype=np.float32)[None, :].repeat(480, axis=0).astype(np.uint8)
    files["neutral/empty-wall.jpg"] = encoded(wall, "JPEG")
    response = api.post("/api/analyses/labelled/", {"archive": upload(labelled_zip(files))}, format="multipart")
    assert response.status_code == 202
    assert (response.data["kind"], response.data["detect_faces"]) == ("labelled", True)
    run(response.data["id"])
    detail = api.get(f"/api/analyses/{response.data['id']}/").data
    assert detail["status"] == "succeeded", detail["error"]
    result = detail["result"]
    assert result["n"] == 17 and 12 <= result["faces_found"] <= 16
    assert result["face_found_rate"] == pytest.approx(result["faces_found"] / 17)
    assert result["accuracy"] <= result["face_found_rate"]
    assert result["accuracy"] == pytest.approx(np.trace(np.array(result["confusion"])) / 17)
    files_by_id = {item["identifier"]: item for item in detail["files"]}
    assert set(files_by_id) == {"evaluation", "classes", "confusion", "images", "confusion_png"}
    images_csv = api.get(files_by_id["images"]["url"])
    assert images_csv.status_code == 200
    wall_row = next(row for row in csv.DictReader(io.StringIO(b"".join(images_csv.streaming_content).decode()))
                    if row["name"] == "neutral/empty-wall.jpg")  # fmt: skip
    assert (wall_row["face_found"], wall_row["correct"]) == ("0", "0")


def bomb() -> bytes:
    return labelled_zip({"angry/1.bmp": bytes(40 * 1024 * 1024)})


def stored(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("happy/big.png", content)
    return buffer.getvalue()


BAD_ZIPS = [
    pytest.param(lambda faces: encoded(faces.images[0]), "not a zip archive", id="not-a-zip"),
    pytest.param(lambda faces: labelled_zip({"a.jpg": encoded(faces.images[0])}), "no folders", id="no-folders"),
    pytest.param(
        lambda faces: labelled_zip({"contempt/a.png": encoded(faces.images[0]), "cats/b.png": b"x"}),
        "None of the archive&#x27;s folders is one of the seven emotions (it has cats, contempt)",
        id="unknown-classes",
    ),
    pytest.param(lambda faces: bomb(), "looks like a zip bomb", id="zip-bomb"),
    pytest.param(
        lambda faces: labelled_zip(face_files(subset(faces, 4))), "holds 4 images; at most 3 are evaluated", id="many"
    ),
    pytest.param(
        lambda faces: stored(bytes(np.random.default_rng(0).integers(0, 256, 1024 * 1024 + 10, dtype=np.uint8))),
        "larger than the limit of 1 MB",
        id="over-the-size-limit",
    ),
]


@pytest.mark.parametrize(("make", "message"), BAD_ZIPS)
def test_a_bad_zip_on_the_page_is_refused_with_a_clear_message_and_nothing_is_stored(
    organizer_client, faces, settings, make, message
):
    settings.ANALYSIS_MAX_LABELLED_IMAGES = 3
    settings.ANALYSIS_MAX_LABELLED_MEGABYTES = 1
    response = organizer_client.post(reverse("organizer-analyses-labelled"), {"archive": upload(make(faces))})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MediaAnalysis.objects.exists()
    assert not analysis_folder_exists()


@pytest.mark.parametrize(("make", "message"), BAD_ZIPS)
def test_a_bad_zip_through_the_api_is_refused_with_400_and_nothing_is_stored(api, faces, settings, make, message):
    settings.ANALYSIS_MAX_LABELLED_IMAGES = 3
    settings.ANALYSIS_MAX_LABELLED_MEGABYTES = 1
    response = api.post("/api/analyses/labelled/", {"archive": upload(make(faces))}, format="multipart")
    assert response.status_code == 400
    assert message.replace("&#x27;", "'") in response.data["detail"]
    assert not MediaAnalysis.objects.exists()
    assert not analysis_folder_exists()


def test_an_api_post_without_an_archive_is_refused_by_name(api):
    response = api.post("/api/analyses/labelled/", {"detect_faces": "false"}, format="multipart")
    assert response.status_code == 400
    assert "archive" in response.data


def test_a_zip_whose_images_all_fail_to_read_fails_with_the_reasons_and_leaves_no_results(organizer):
    archive = upload(labelled_zip({"angry/a.png": b"no image", "sad/b.jpg": b"nor this"}))
    analysis = run(jobs.analysis_create_labelled(owner=organizer, archive=archive).pk)
    assert analysis.status == Status.FAILED
    assert "No image in the archive could be read (angry/a.png: the data is not an image" in analysis.error
    assert analysis.outputs == [] and analysis.result == {}
    assert not Path(default_storage.path(analysis.results_folder)).exists()


def test_the_service_refuses_a_bad_zip_before_storing_it(organizer):
    with pytest.raises(UploadRefused, match=r"^faces.zip: This is not a zip archive"):
        jobs.analysis_create_labelled(owner=organizer, archive=upload(b"PK but not really"))
    assert not MediaAnalysis.objects.exists() and not analysis_folder_exists()


def test_cancelling_a_running_evaluation_stops_it_and_leaves_no_results(organizer, zip_bytes, monkeypatch):
    analysis = jobs.analysis_create_labelled(owner=organizer, archive=upload(zip_bytes))
    original = ProgressReporter.__call__
    reports = []

    def cancel_on_first_report(self, fraction):  # type: ignore[no-untyped-def]
        reports.append(fraction)
        if len(reports) == 1:
            jobs.analysis_cancel(analysis=MediaAnalysis.objects.get(pk=self.analysis_id))
        return original(self, fraction)

    monkeypatch.setattr(ProgressReporter, "__call__", cancel_on_first_report)
    analysis = run(analysis.pk)
    assert analysis.status == Status.CANCELLED
    assert len(reports) == 1
    assert analysis.outputs == []
    assert not Path(default_storage.path(analysis.results_folder)).exists()


def test_an_evaluation_whose_worker_died_is_queued_again_once_and_finished(organizer, zip_bytes, settings):
    analysis = jobs.analysis_create_labelled(owner=organizer, archive=upload(zip_bytes), detect_faces=False)
    stale = timezone.now() - timedelta(seconds=settings.ANALYSIS_STALLED_SECONDS + 1)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(
        status=Status.RUNNING, started_at=stale, heartbeat_at=stale, progress=0.3, attempts=1
    )
    assert [item.pk for item in jobs.analyses_recover()] == [analysis.pk]
    assert jobs.analyses_recover() == []
    analysis = run(analysis.pk)
    assert (analysis.status, analysis.attempts) == (Status.SUCCEEDED, 2)
    assert analysis.result["n"] == 40


def test_deleting_an_evaluation_removes_its_files(organizer_client, finished):
    response = organizer_client.post(reverse("organizer-analysis-delete", args=[finished.pk]))
    assert response.status_code == 302
    assert not MediaAnalysis.objects.exists()
    assert not Path(default_storage.path(finished.folder)).exists()


def test_another_organizer_gets_404_for_every_page_and_download_of_an_evaluation(
    organizer_client, other_organizer_client, finished
):
    pk = finished.pk
    for name in ("evaluation.json", "classes.csv", "confusion.png"):
        assert organizer_client.get(reverse("organizer-analysis-file", args=[pk, name])).status_code == 200
    for method, url in [
        ("get", reverse("organizer-analysis", args=[pk])),
        ("get", reverse("organizer-analysis-file", args=[pk, "evaluation.json"])),
        ("get", reverse("organizer-analysis-file", args=[pk, "classes.csv"]) + "?download=1"),
        ("get", reverse("organizer-analysis-file", args=[pk, "confusion.png"])),
        ("post", reverse("organizer-analysis-cancel", args=[pk])),
        ("post", reverse("organizer-analysis-delete", args=[pk])),
    ]:
        assert getattr(other_organizer_client, method)(url).status_code == 404, url
    assert b"faces.zip" not in other_organizer_client.get(reverse("organizer-analyses")).content
    assert MediaAnalysis.objects.filter(pk=pk, status=Status.SUCCEEDED).exists()


def test_another_organizer_gets_404_for_every_api_address_of_an_evaluation(api, other_api, finished):
    pk = finished.pk
    files = [reverse("api-analysis-file", args=[pk, name]) for name in ("evaluation.json", "confusion.csv")]
    files += [f"/api/analyses/{pk}/files/images.csv", f"/api/analyses/{pk}/files/evaluation.json"]
    for url in files:
        assert api.get(url).status_code == 200, url
    for method, url in [
        ("get", f"/api/analyses/{pk}/"),
        *(("get", url) for url in files),
        ("post", f"/api/analyses/{pk}/cancel/"),
        ("delete", f"/api/analyses/{pk}/"),
    ]:
        assert getattr(other_api, method)(url).status_code == 404, url
    assert other_api.get("/api/analyses/").data["results"] == []
    assert MediaAnalysis.objects.filter(pk=pk, status=Status.SUCCEEDED).exists()
