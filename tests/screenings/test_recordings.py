"""Recorded videos of participants: sampled at the screening's interval, stored as their emotion samples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screenings import services
from screenings.analyses import jobs, runner, storage
from screenings.models import EmotionSample, MediaAnalysis, Participant, ParticipantTotals, TimelineSlot
from screenings.reports.builder import screening_report
from tests.factories import EmotionSampleFactory, ParticipantFactory, ScreeningFactory
from tests.media_clips import face_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def clip_bytes(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    """A face for 2 s, then 1 s of empty background: at 1 s intervals, faces at 0 and 1 s, none at 2 s."""
    return face_clip(tmp_path / "lab.mp4").read_bytes()


def recording(clip_bytes: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("lab.mp4", clip_bytes, content_type="video/mp4")


def attach(organizer, screening, clip_bytes, **fields) -> MediaAnalysis:  # type: ignore[no-untyped-def]
    analysis = jobs.analysis_create_recording(
        owner=organizer, screening=screening, video=recording(clip_bytes), **{"offset": 0.0, **fields}
    )
    runner.analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    return analysis


def test_a_recording_becomes_the_participants_samples_at_the_offset(organizer, screening, clip_bytes):
    participant = ParticipantFactory(screening=screening)
    analysis = attach(organizer, screening, clip_bytes, participant=participant, offset=5)
    assert analysis.status == MediaAnalysis.Status.SUCCEEDED, analysis.error
    samples = list(participant.samples.order_by("media_time"))
    assert [(sample.media_time, sample.face_found) for sample in samples] == [(5.0, True), (6.0, True), (7.0, False)]
    assert samples[0].model_version.endswith("v")
    assert samples[0].dominant_emotion
    # The clip's face looks at the camera; the frame without a face has no attention reading.
    assert [sample.looking_at_screen for sample in samples] == [True, True, None]
    assert analysis.result["samples_stored"] == 3
    totals = ParticipantTotals.objects.get(participant=participant)
    assert (totals.samples, totals.faces) == (3, 2)
    assert set(TimelineSlot.objects.filter(screening=screening, faces__gt=0).values_list("slot", flat=True)) == {5, 6}


def test_recorded_samples_land_in_the_screenings_report(organizer, screening, clip_bytes):
    attach(organizer, screening, clip_bytes, offset=4, participant_label="Lab session 3")
    report = screening_report(screening)
    bins = {row["start"]: row for row in report["timeline"]["bins"]}
    assert bins[4.0]["participants"] == 1 and bins[5.0]["participants"] == 1
    assert sum(bins[4.0][emotion] for emotion in report["emotions"]) == pytest.approx(1, abs=1e-3)
    assert [row["samples"] for row in report["quality"]["participants"]] == [3]


def test_without_a_participant_one_is_created_from_the_recording(organizer, screening, clip_bytes):
    analysis = attach(organizer, screening, clip_bytes, participant_label="Lab session 3")
    participant = Participant.objects.get(screening=screening)
    assert analysis.participant_id == participant.pk
    assert participant.label == "Lab session 3"
    assert participant.source == Participant.Source.RECORDING
    assert participant.state == Participant.State.WATCHED
    assert participant.samples.count() == 3


def test_the_recording_is_sampled_at_the_screenings_interval(organizer, clip_bytes):
    screening = ScreeningFactory(owner=organizer, sampling_interval=Decimal("0.5"))
    attach(organizer, screening, clip_bytes)
    times = list(EmotionSample.objects.filter(screening=screening).values_list("media_time", flat=True))
    assert times == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_times_before_the_stimulus_or_after_its_end_are_left_out(organizer, screening, clip_bytes):
    early = attach(organizer, screening, clip_bytes, offset=-1, participant_label="early")
    assert early.result["samples_outside_stimulus"] == 1
    assert list(early.participant.samples.values_list("media_time", flat=True)) == [0.0, 1.0]
    late = attach(organizer, screening, clip_bytes, offset=screening.stimulus_duration - 1, participant_label="late")
    assert late.result["samples_outside_stimulus"] == 1
    assert "fell outside the stimulus" in late.message


def test_media_times_that_already_have_a_sample_keep_it(organizer, screening, clip_bytes):
    participant = ParticipantFactory(screening=screening)
    live = EmotionSampleFactory(participant=participant, media_time=1.0)
    analysis = attach(organizer, screening, clip_bytes, participant=participant)
    assert analysis.result["samples_stored"] == 2
    assert analysis.result["samples_already_recorded"] == 1
    assert participant.samples.get(media_time=1.0).pk == live.pk


def test_a_failed_recording_stores_no_sample_and_no_participant(organizer, screening):
    broken = SimpleUploadedFile("lab.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    analysis = jobs.analysis_create_recording(
        owner=organizer, screening=screening, video=broken, offset=0, participant_label="never"
    )
    runner.analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == MediaAnalysis.Status.FAILED
    assert analysis.error
    assert not Participant.objects.exists()
    assert not EmotionSample.objects.exists()


def test_storing_fails_whole_when_one_sample_cannot_be_stored(organizer, screening, clip_bytes, monkeypatch):
    participant = ParticipantFactory(screening=screening)
    calls = []
    original = services.sample_record

    def fail_on_third(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["media_time"])
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(**kwargs)

    monkeypatch.setattr(services, "sample_record", fail_on_third)
    with pytest.raises(RuntimeError):
        attach(organizer, screening, clip_bytes, participant=participant)
    analysis = MediaAnalysis.objects.get()
    assert analysis.status == MediaAnalysis.Status.FAILED
    assert not participant.samples.exists()
    assert ParticipantTotals.objects.filter(participant=participant, samples__gt=0).count() == 0
    assert analysis.outputs == []


@pytest.mark.parametrize("state", [Participant.State.WITHDRAWN, Participant.State.DECLINED])
def test_a_participant_who_withdrew_or_declined_gets_no_recording(organizer, screening, clip_bytes, state):
    participant = ParticipantFactory(screening=screening, state=state)
    with pytest.raises(storage.UploadRefused, match="withdrew or declined"):
        jobs.analysis_create_recording(
            owner=organizer, screening=screening, video=recording(clip_bytes), offset=0, participant=participant
        )
    assert not MediaAnalysis.objects.exists()


def test_the_page_attaches_a_recording_to_a_chosen_participant(organizer_client, screening, clip_bytes):
    participant = ParticipantFactory(screening=screening, label="Row 4")
    url = reverse("organizer-recording-upload", args=[screening.pk])
    assert b"Row 4" in organizer_client.get(url).content
    response = organizer_client.post(
        url, {"video": recording(clip_bytes), "participant": participant.pk, "offset": "2.5"}
    )
    analysis = MediaAnalysis.objects.get()
    assert response.status_code == 302
    assert (analysis.participant_id, analysis.offset, analysis.interval) == (participant.pk, 2.5, 1.0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"offset": "soon"}, b"Enter a number"),
        ({"offset": ""}, b"This field is required"),
        ({"offset": "0", "participant": "999999"}, b"Select a valid choice"),
    ],
)
def test_the_page_refuses_bad_fields_with_a_message(organizer_client, screening, clip_bytes, fields, message):
    url = reverse("organizer-recording-upload", args=[screening.pk])
    response = organizer_client.post(url, {"video": recording(clip_bytes), **fields})
    assert response.status_code == 400
    assert message in response.content
    assert not MediaAnalysis.objects.exists()


def test_the_page_does_not_offer_another_screenings_participant(organizer_client, organizer, screening, clip_bytes):
    elsewhere = ParticipantFactory(screening=ScreeningFactory(owner=organizer))
    url = reverse("organizer-recording-upload", args=[screening.pk])
    response = organizer_client.post(url, {"video": recording(clip_bytes), "participant": elsewhere.pk, "offset": 0})
    assert response.status_code == 400
    assert not MediaAnalysis.objects.exists()


def test_another_organizer_cannot_attach_recordings_to_the_screening(
    other_organizer_client, other_api, screening, clip_bytes
):
    url = reverse("organizer-recording-upload", args=[screening.pk])
    assert other_organizer_client.get(url).status_code == 404
    assert other_organizer_client.post(url, {"video": recording(clip_bytes), "offset": 0}).status_code == 404
    response = other_api.post(
        f"/api/screenings/{screening.pk}/recordings/", {"video": recording(clip_bytes)}, format="multipart"
    )
    assert response.status_code == 404
    assert not MediaAnalysis.objects.exists()


def test_the_api_attaches_a_recording(api, screening, clip_bytes):
    participant = ParticipantFactory(screening=screening)
    response = api.post(
        f"/api/screenings/{screening.pk}/recordings/",
        {"video": recording(clip_bytes), "participant": participant.pk, "offset": "3"},
        format="multipart",
    )
    assert response.status_code == 202
    assert response.data["kind"] == "recording"
    assert response.data["participant"] == participant.pk


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"offset": "nan"}, 400), ({"offset": "ten"}, 400), ({"participant": "0"}, 400), ({"participant": "x"}, 400)],
)
def test_the_api_refuses_bad_recording_fields(api, screening, clip_bytes, fields, status):
    response = api.post(
        f"/api/screenings/{screening.pk}/recordings/", {"video": recording(clip_bytes), **fields}, format="multipart"
    )
    assert response.status_code == status
    assert not MediaAnalysis.objects.exists()


def test_the_api_refuses_a_participant_of_another_screening(api, organizer, screening, clip_bytes):
    elsewhere = ParticipantFactory(screening=ScreeningFactory(owner=organizer))
    response = api.post(
        f"/api/screenings/{screening.pk}/recordings/",
        {"video": recording(clip_bytes), "participant": elsewhere.pk},
        format="multipart",
    )
    assert response.status_code == 404
    assert not MediaAnalysis.objects.exists()
