"""The running totals behind the reports: kept equal to the samples as they are recorded and erased."""

from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from inference.labels import EMOTIONS
from screenings import services
from screenings.models import Participant, ParticipantTotals, TimelineSlot
from screenings.reports import aggregates
from screenings.services import totals as sample_totals
from tests.factories import ParticipantFactory, SceneFactory, ScreeningFactory
from tests.screenings.admin_helpers import admin_url, screening_form

pytestmark = pytest.mark.django_db
State = Participant.State


def reading(**values: float) -> dict[str, float]:
    probabilities = dict.fromkeys(EMOTIONS, 0.0) | values
    probabilities["neutral"] += 1 - sum(probabilities.values())
    return probabilities


def watcher(screening, external_id=""):  # type: ignore[no-untyped-def]
    return ParticipantFactory(
        screening=screening, state=State.WATCHING, external_id=external_id, watch_started_at="2026-01-01T00:00Z"
    )


def snapshot(screening) -> tuple[list[tuple], list[tuple]]:  # type: ignore[no-untyped-def]
    """Every total of the screening, rounded so sums built in a different order compare equal."""
    columns = ["faces", "participants", *EMOTIONS, *sample_totals.DOMINANT_FIELDS.values()]
    slots = [
        (row[0], *(round(value, 9) for value in row[1:]))
        for row in TimelineSlot.objects.filter(screening=screening, faces__gt=0)
        .order_by("slot")
        .values_list("slot", *columns)
    ]
    participants = [
        (row[0], *(round(value, 9) for value in row[1:]))
        for row in ParticipantTotals.objects.filter(screening=screening)
        .order_by("participant")
        .values_list("participant", "samples", "faces", *EMOTIONS, *sample_totals.DOMINANT_FIELDS.values())
    ]
    return slots, participants


class TestKeptAsSamplesArrive:
    def test_recording_and_erasing_leave_the_same_totals_as_summing_the_samples_again(self, organizer):
        screening = ScreeningFactory(owner=organizer, sampling_interval=Decimal("0.5"), stimulus_duration=60)
        rng = np.random.default_rng(7)
        people = [watcher(screening) for _ in range(4)]
        for person in people:
            for media_time in np.round(np.sort(rng.uniform(0, 20, size=30)), 3):
                found = rng.random() > 0.2
                probabilities = dict(zip(EMOTIONS, rng.dirichlet(np.ones(7)), strict=True)) if found else None
                services.sample_record(participant=person, media_time=float(media_time), probabilities=probabilities)
        services.participant_withdraw(participant=people[1])
        kept = snapshot(screening)
        sample_totals.totals_rebuild(screening)
        assert snapshot(screening) == kept
        assert len(kept[1]) == 3 and kept[0]

    def test_a_frame_sent_again_is_counted_once(self, screening):
        person = watcher(screening)
        for _ in range(3):
            services.sample_record(participant=person, media_time=4.2, probabilities=reading(happy=0.9))
        [slot] = TimelineSlot.objects.filter(screening=screening)
        assert (slot.slot, slot.faces, slot.participants, slot.dominant_happy) == (4, 1, 1, 1)
        assert person.totals.samples == 1

    def test_two_faces_of_one_participant_in_one_slot_count_one_participant(self, screening):
        person, other = watcher(screening), watcher(screening)
        services.sample_record(participant=person, media_time=3.1, probabilities=reading(happy=0.8))
        services.sample_record(participant=person, media_time=3.6, probabilities=reading(sad=0.8))
        services.sample_record(participant=other, media_time=3.9, probabilities=reading(sad=0.6))
        services.sample_record(participant=other, media_time=3.95, probabilities=None)
        [slot] = TimelineSlot.objects.filter(screening=screening)
        assert (slot.faces, slot.participants, slot.dominant_sad) == (3, 2, 2)
        assert slot.happy == pytest.approx(0.8)
        assert (other.totals.samples, other.totals.faces) == (2, 1)

    def test_frames_stored_together_leave_the_totals_that_storing_them_one_by_one_leaves(self, organizer):
        screening = ScreeningFactory(owner=organizer, sampling_interval=Decimal("0.5"), stimulus_duration=60)
        rng = np.random.default_rng(11)
        people = [watcher(screening) for _ in range(5)]
        # Batches as live capture forms them: many participants, some faces sharing a slot, frames sent
        # again (within the batch and from batches before), a participant who withdrew meanwhile.
        for batch in range(12):
            readings = []
            for person in people:
                for media_time in np.round(rng.uniform(batch, batch + 1.5, size=int(rng.integers(1, 4))), 3):
                    found = rng.random() > 0.25
                    probabilities = dict(zip(EMOTIONS, rng.dirichlet(np.ones(7)), strict=True)) if found else None
                    readings.append(services.CapturedReading(person, float(media_time), probabilities))
            readings += [readings[0], readings[len(readings) // 2]]
            if batch == 6:
                services.participant_withdraw(participant=people[4])
            stored = services.captured_samples_record(readings=readings)
            assert [result is None for result in stored] == [
                reading.participant == people[4] and batch >= 6 for reading in readings
            ]
        kept = snapshot(screening)
        sample_totals.totals_rebuild(screening)
        assert snapshot(screening) == kept
        assert len(kept[1]) == 4 and kept[0]

    def test_a_frame_sent_twice_in_one_batch_is_one_new_sample_and_the_same_sample_again(self, screening):
        person = watcher(screening)
        frame = services.CapturedReading(person, 2.0, reading(happy=0.9))
        [(first, created), (again, created_again)] = services.captured_samples_record(readings=[frame, frame])
        assert (created, created_again) == (True, False) and first.pk == again.pk
        [(before, created_later)] = services.captured_samples_record(readings=[frame])
        assert before.pk == first.pk and not created_later
        [slot] = TimelineSlot.objects.filter(screening=screening)
        assert (slot.faces, slot.participants) == (1, 1) and person.totals.samples == 1

    def test_an_erased_participant_leaves_the_timeline_and_the_live_mean(self, organizer_client, screening):
        person, other = watcher(screening), watcher(screening)
        services.sample_record(participant=person, media_time=1.0, probabilities=reading(angry=1.0))
        services.sample_record(participant=other, media_time=1.0, probabilities=reading(happy=1.0))
        services.participant_erase(participant=person)
        [only] = aggregates.timeline(screening)
        assert (only.participants, only.means["happy"], only.means["angry"]) == (1, pytest.approx(1.0), 0.0)
        live = organizer_client.get(reverse("organizer-live", args=[screening.pk])).context["live_state"]
        assert [(row["media_time"], row["n"]) for row in live["timeline"]] == [(1.0, 1)]
        assert not ParticipantTotals.objects.filter(participant=person).exists()


class TestReadFromTheTotals:
    def test_scenes_whose_edges_cut_through_slots_count_each_face_once(self, screening):
        person = watcher(screening)
        for media_time, values in [(0.2, {"sad": 1.0}), (0.7, {"happy": 1.0}), (1.4, {"happy": 0.8}),
                                   (2.3, {"surprise": 0.9}), (2.6, {"fear": 0.9})]:  # fmt: skip
            services.sample_record(participant=person, media_time=media_time, probabilities=reading(**values))
        SceneFactory(screening=screening, start=0.5, end=2.5, label="Middle")
        SceneFactory(screening=screening, start=2.4, end=2.55, label="Inside one slot")
        middle, inside = aggregates.scene_summaries(screening)
        # 0.7 and 1.4 (happy) and 2.3 (surprise) lie in [0.5, 2.5); 0.2 and 2.6 do not.
        assert middle["shares"]["happy"] == pytest.approx(2 / 3) and middle["shares"]["surprise"] == pytest.approx(
            1 / 3
        )
        assert middle["means"]["happy"] == pytest.approx((1.0 + 0.8) / 3)
        assert inside["shares"] == dict.fromkeys(EMOTIONS, 0.0) and inside["means"]["happy"] is None

    def test_a_wide_bin_gives_the_mean_number_of_participants_per_sampling_interval(self, screening):
        people = [watcher(screening) for _ in range(3)]
        for index, person in enumerate(people):
            for second in range(index + 1):
                services.sample_record(participant=person, media_time=second, probabilities=reading(happy=0.5))
        [wide] = aggregates.timeline(screening, bin_seconds=4)
        assert wide.participants == round((3 + 2 + 1) / 4) and wide.means["happy"] == pytest.approx(0.5)

    def test_a_bin_that_is_not_a_whole_number_of_intervals_is_refused(self, organizer_client, api, screening):
        page = organizer_client.get(reverse("organizer-report", args=[screening.pk]), {"bin": "1.5"})
        assert page.status_code == 400 and "whole multiple of the sampling interval (1 s)" in page.content.decode()
        assert organizer_client.get(reverse("organizer-report", args=[screening.pk]), {"bin": "3"}).status_code == 200
        response = api.get(f"/api/screenings/{screening.pk}/report/", {"bin": "0.5"})
        assert response.status_code == 400 and "bin" in response.json()

    def test_an_excluded_participant_is_subtracted_from_every_slot(self, screening):
        kept, left_out = watcher(screening, "kept"), watcher(screening, "left out")
        for second in range(3):
            services.sample_record(participant=kept, media_time=second, probabilities=reading(happy=0.6))
            services.sample_record(participant=left_out, media_time=second + 0.5, probabilities=reading(angry=0.9))
        services.sample_record(participant=left_out, media_time=5, probabilities=reading(angry=0.9))
        services.participant_exclusion_set(participant=left_out, excluded=True)
        bins = aggregates.timeline(screening)
        assert [(b.start, b.participants, round(b.means["happy"], 6)) for b in bins] == [
            (0.0, 1, 0.6), (1.0, 1, 0.6), (2.0, 1, 0.6)
        ]  # fmt: skip


class TestSamplingIntervalLock:
    def test_the_admin_refuses_a_new_interval_once_samples_exist(self, organizer_client, organizer):
        screening = ScreeningFactory(owner=organizer, stimulus="", stimulus_url="https://cdn.example.org/ad.mp4")
        services.sample_record(participant=watcher(screening), media_time=1, probabilities=None)
        data = screening_form(slug=screening.slug, stimulus_url=screening.stimulus_url, sampling_interval="2")
        response = organizer_client.post(admin_url(screening), data)
        assert response.status_code == 200
        assert "cannot change once emotion samples are recorded" in response.content.decode()
        screening.refresh_from_db()
        assert screening.sampling_interval == Decimal("1")

    def test_the_interval_may_change_before_any_sample(self, organizer_client, organizer):
        screening = ScreeningFactory(owner=organizer, stimulus="", stimulus_url="https://cdn.example.org/ad.mp4")
        data = screening_form(slug=screening.slug, stimulus_url=screening.stimulus_url, sampling_interval="2")
        assert organizer_client.post(admin_url(screening), data).status_code == 302
        screening.refresh_from_db()
        assert screening.sampling_interval == Decimal("2")
