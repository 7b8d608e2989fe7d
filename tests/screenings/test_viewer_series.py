"""The viewers' packed series the report metrics read: exact packing, freshness, erasure, exclusion, segments."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from inference import EMOTIONS
from screenings import services
from screenings.models import EmotionSample, Participant, TimelineSlot, ViewerSeries
from screenings.rules.series import (
    Audience,
    faces_per_slot,
    per_viewer_groups,
    per_viewer_span,
    series_from_rows,
    series_pack,
    series_unpack,
)
from screenings.rules.slots import SLOT_EPSILON
from screenings.selectors import series as series_selectors
from screenings.selectors.series import included_audience, series_sample_batches
from screenings.services import participants as participant_services
from tests.factories import EmotionSampleFactory, ParticipantFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

HAPPY = {"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.7, "sad": 0.1, "surprise": 0.1, "neutral": 0.1}


def row(media_time, face=True, looking=None, probabilities=HAPPY, version="v1"):  # type: ignore[no-untyped-def]
    if not face:
        return (media_time, False, None, "", version, *([None] * len(EMOTIONS)))
    dominant = max(EMOTIONS, key=probabilities.__getitem__)
    return (media_time, True, looking, dominant, version, *(probabilities[emotion] for emotion in EMOTIONS))


def assert_same(left, right):  # type: ignore[no-untyped-def]
    for name in ("media_time", "face_found", "looking", "dominant", "dominants", "model_version", "versions"):
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name))
    np.testing.assert_array_equal(left.emotions, right.emotions)  # NaN equals NaN here, values bit for bit


class TestPacking:
    def test_it_keeps_every_value_bit_for_bit_even_those_float32_cannot_hold(self):
        rows = [row(2.0, looking=False, version="fer, v4 \"quoted\""), row(0.5, face=False, version=""),
                row(1.0, looking=True), (3.0, True, None, "contempt", "v1", *HAPPY.values())]  # fmt: skip
        series = series_from_rows(rows)
        again = series_unpack(series_pack(series))
        assert_same(again, series)
        assert again.emotions[2, EMOTIONS.index("happy")] == 0.7  # not float32's 0.699999988
        assert [again.versions[code] for code in again.model_version] == ["", "v1", 'fer, v4 "quoted"', "v1"]
        # A dominant emotion outside today's choices is kept as stored, and counts as none of them.
        assert [again.dominants[code] for code in again.dominant] == ["", "happy", "happy", "contempt"]
        assert Audience.of({1: again}).dominant.tolist() == [-1, 3, 3, -1]

    def test_it_puts_the_samples_in_media_time_order(self):
        series = series_from_rows([row(2.0), row(0.5, face=False), row(1.0)])
        assert series.media_time.tolist() == [0.5, 1.0, 2.0]
        assert series.face_found.tolist() == [False, True, True]
        assert np.isnan(series.emotions[0]).all()

    def test_network_outputs_pack_in_four_bytes_a_probability(self):
        probabilities = dict(zip(EMOTIONS, np.float32([0.1, 0.2, 0.05, 0.3, 0.15, 0.1, 0.1]).tolist(), strict=True))
        exact = series_pack(series_from_rows([row(0.0, probabilities=probabilities)]))
        wide = series_pack(series_from_rows([row(0.0)]))
        assert len(wide) - len(exact) == 4 * len(EMOTIONS)
        assert_same(series_unpack(exact), series_from_rows([row(0.0, probabilities=probabilities)]))

    @pytest.mark.parametrize("data", [b"", b"RSS1", b"XXXX" + bytes(5), series_pack(series_from_rows([row(0.0)]))[:-1]])
    def test_it_refuses_bytes_it_did_not_pack(self, data):
        with pytest.raises(ValueError, match="packed series"):
            series_unpack(data)

    def test_a_series_of_an_earlier_format_is_built_again_from_the_samples(self, screening):
        viewer = ParticipantFactory(screening=screening)
        EmotionSampleFactory(participant=viewer, media_time=0.0)
        included_audience(screening)
        ViewerSeries.objects.filter(participant=viewer).update(data=b"RSS1" + bytes(9))
        assert included_audience(screening).media_time.tolist() == [0.0]
        assert series_unpack(ViewerSeries.objects.get(participant=viewer).data).media_time.tolist() == [0.0]


class TestGrouping:
    def audience(self) -> Audience:
        return Audience.of({
            7: series_from_rows([row(0.0), row(1.0, looking=False), row(2.0, face=False)]),
            3: series_from_rows([row(0.0, probabilities={**HAPPY, "happy": 0.3, "neutral": 0.5})]),
        })  # fmt: skip

    def test_each_viewer_gets_a_row_per_group_with_counts_and_means_over_faces(self):
        viewers = self.audience()
        table = per_viewer_groups(viewers, np.array([0, 0, 0, 1]))
        happy = 4 + EMOTIONS.index("happy")
        assert table[:, :4].tolist() == [[3, 0, 1, 1], [7, 0, 2, 1], [7, 1, 1, 0]]
        assert table[:, happy].tolist()[:2] == [0.3, pytest.approx(0.7)]
        assert np.isnan(table[2, happy])  # the viewer's only sample in group 1 has no face

    def test_groups_out_of_media_time_order_are_grouped_all_the_same(self):
        table = per_viewer_groups(self.audience(), np.array([5, 1, 5, 2]))
        assert table[:, :3].tolist() == [[3, 5, 1], [7, 1, 1], [7, 2, 1], [7, 5, 1]]

    def test_a_span_gives_each_viewer_with_a_sample_in_it_a_row(self):
        table = per_viewer_span(self.audience(), 0.5, 2.5, 4)
        assert table[:, :4].tolist() == [[7, 4, 2, 0]]  # viewer 3 has nothing there; 7's face at 1 s looks away
        assert table[0, 4 + EMOTIONS.index("happy")] == pytest.approx(0.7)  # over the one face
        assert per_viewer_span(self.audience(), 5.0, 6.0, 0).shape == (0, 4 + len(EMOTIONS))
        everyone = per_viewer_span(self.audience(), 0.0, 3.0, 1)
        assert everyone[:, :3].tolist() == [[3, 1, 1], [7, 1, 3]]

    def test_faces_per_slot_counts_each_viewer_once_per_slot(self):
        viewers = Audience.of({1: series_from_rows([row(0.0), row(0.5), row(1.0, face=False)]),
                               2: series_from_rows([row(0.25)])})  # fmt: skip
        table = faces_per_slot(viewers, 1.0, epsilon=SLOT_EPSILON)
        assert table[:, :3].tolist() == [[0, 3, 2]]
        assert table[0, 3 + EMOTIONS.index("happy")] == pytest.approx(2.1)
        assert table[0, 3 + len(EMOTIONS) + EMOTIONS.index("happy")] == 3


@pytest.fixture
def audience_of_two(screening):  # type: ignore[no-untyped-def]
    first, second = ParticipantFactory(screening=screening), ParticipantFactory(screening=screening)
    for media_time in range(3):
        EmotionSampleFactory(participant=first, media_time=float(media_time))
    EmotionSampleFactory(participant=second, media_time=0.0, face_found=False)
    return first, second


class TestIncludedAudience:
    def test_the_first_read_builds_each_viewers_series_and_the_next_reads_them(self, screening, audience_of_two):
        first, second = audience_of_two
        viewers = included_audience(screening)
        assert viewers.participants.tolist() == [first.pk, second.pk]
        assert ViewerSeries.objects.filter(screening=screening).count() == 2
        # The next read takes the series, not the samples: a series changed behind the totals' back is what it reads.
        ViewerSeries.objects.filter(participant=first).update(data=series_pack(series_from_rows([row(9.0)])))
        assert included_audience(screening).media_time.tolist() == [9.0, 0.0]

    def test_a_new_sample_makes_its_viewers_series_stale_and_it_is_rebuilt(self, screening, audience_of_two):
        first, _ = audience_of_two
        included_audience(screening)
        EmotionSampleFactory(participant=first, media_time=3.0)
        assert included_audience(screening).media_time.tolist() == [0.0, 1.0, 2.0, 3.0, 0.0]

    def test_a_participant_still_watching_is_read_but_their_series_is_not_kept(self, screening, audience_of_two):
        first, second = audience_of_two
        Participant.objects.filter(pk=first.pk).update(state=Participant.State.WATCHING)
        assert included_audience(screening).media_time.tolist() == [0.0, 1.0, 2.0, 0.0]
        assert list(ViewerSeries.objects.values_list("participant", flat=True)) == [second.pk]

    def test_erasing_a_participant_deletes_their_series_with_their_samples(self, screening, audience_of_two):
        first, second = audience_of_two
        included_audience(screening)
        services.participant_erase(participant=first)
        assert not ViewerSeries.objects.filter(participant=first).exists()
        assert included_audience(screening).participants.tolist() == [second.pk]

    def test_excluded_participants_and_non_members_are_left_out(self, screening, audience_of_two):
        first, second = audience_of_two
        assert included_audience(screening, members=frozenset({second.pk})).participants.tolist() == [second.pk]
        first.excluded_from_reports = True
        first.save()
        assert included_audience(screening).participants.tolist() == [second.pk]
        assert included_audience(screening, members=frozenset()).participants.tolist() == []

    def test_another_screenings_series_are_not_read(self, screening, audience_of_two, other_organizer):
        included_audience(screening)
        other_screening = ScreeningFactory(owner=other_organizer)
        stranger = ParticipantFactory(screening=other_screening)
        EmotionSampleFactory(participant=stranger, media_time=0.0)
        assert included_audience(other_screening).participants.tolist() == [stranger.pk]

    def test_the_slots_summed_from_the_series_equal_the_running_totals(self, screening, audience_of_two):
        summed = faces_per_slot(included_audience(screening), 1.0, epsilon=SLOT_EPSILON)
        columns = ["slot", "faces", "participants", *EMOTIONS, *(f"dominant_{emotion}" for emotion in EMOTIONS)]
        totals = np.array(TimelineSlot.objects.filter(screening=screening).values_list(*columns), dtype=float)
        np.testing.assert_allclose(summed, totals)
        assert EmotionSample.objects.filter(screening=screening).count() == 4


class TestBuiltWhenTheJourneyEnds:
    def test_completing_the_journey_builds_the_participants_series(
        self, screening, audience_of_two, django_capture_on_commit_callbacks
    ):
        first, _ = audience_of_two
        Participant.objects.filter(pk=first.pk).update(state=Participant.State.AFTER_DONE)
        with django_capture_on_commit_callbacks(execute=True):
            services.participant_complete(participant=first)
        stored = series_unpack(ViewerSeries.objects.get(participant=first).data)
        assert stored.media_time.tolist() == [0.0, 1.0, 2.0]
        # Fresh: the report reads it as it is.
        ViewerSeries.objects.filter(participant=first).update(data=series_pack(series_from_rows([row(9.0)])))
        assert 9.0 in included_audience(screening).media_time

    def test_a_failed_build_leaves_the_journey_completed(
        self, screening, audience_of_two, django_capture_on_commit_callbacks, monkeypatch, caplog
    ):
        first, _ = audience_of_two
        Participant.objects.filter(pk=first.pk).update(state=Participant.State.AFTER_DONE)

        def refused(**_):  # type: ignore[no-untyped-def]
            raise DatabaseError("the database went away")

        monkeypatch.setattr(participant_services, "series_refresh", refused)
        with django_capture_on_commit_callbacks(execute=True):
            services.participant_complete(participant=first)
        first.refresh_from_db()
        assert first.state == Participant.State.COMPLETED
        assert "a report will build it" in caplog.text
        assert included_audience(screening).media_time.tolist() == [0.0, 1.0, 2.0, 0.0]


class TestSampleBatches:
    def test_the_batches_hold_every_stored_value_and_follow_a_new_sample(self, screening, audience_of_two):
        first, second = audience_of_two
        table = pa.Table.from_batches(list(series_sample_batches(screening, size=2)))
        assert table.column("participant_id").to_pylist() == [first.pk] * 3 + [second.pk]
        assert table.column("happy").to_pylist()[2:] == [0.7, None]
        assert table.column("dominant_emotion").to_pylist() == ["happy"] * 3 + [""]
        assert table.column("looking_at_screen").to_pylist() == [None] * 4
        assert table.column("model_version").to_pylist() == ["test"] * 4
        EmotionSampleFactory(participant=second, media_time=1.0)
        again = pa.Table.from_batches(list(series_sample_batches(screening, size=100)))
        assert again.num_rows == 5 and again.column("media_time").to_pylist()[-2:] == [0.0, 1.0]

    def test_a_segment_gets_only_its_members(self, screening, audience_of_two):
        _, second = audience_of_two
        batches = list(series_sample_batches(screening, members=frozenset({second.pk}), size=10))
        assert [batch.column("participant_id").to_pylist() for batch in batches] == [[second.pk]]


class TestChangesWhileASeriesIsBuilt:
    """A sample read, then something changes before the series is saved: nothing stale or erased is kept."""

    def meanwhile(self, monkeypatch, change):  # type: ignore[no-untyped-def]
        read = series_selectors._series_from_samples

        def reading_then_changing(screening, participants):  # type: ignore[no-untyped-def]
            built = list(read(screening, participants))
            change()
            return iter(built)

        monkeypatch.setattr(series_selectors, "_series_from_samples", reading_then_changing)

    def test_an_erasure_committed_meanwhile_leaves_no_copy_of_the_samples(self, screening, monkeypatch):
        viewer = ParticipantFactory(screening=screening)
        EmotionSampleFactory(participant=viewer, media_time=0.0)
        self.meanwhile(monkeypatch, lambda: services.participant_erase(participant=viewer))
        included_audience(screening)
        assert not EmotionSample.objects.filter(participant=viewer).exists()
        assert not ViewerSeries.objects.filter(participant=viewer).exists()

    def test_a_sample_stored_meanwhile_leaves_the_series_unsaved_for_the_next_read(self, screening, monkeypatch):
        viewer = ParticipantFactory(screening=screening)
        EmotionSampleFactory(participant=viewer, media_time=0.0)
        self.meanwhile(monkeypatch, lambda: EmotionSampleFactory(participant=viewer, media_time=1.0))
        assert included_audience(screening).media_time.tolist() == [0.0]  # what was read then
        monkeypatch.undo()
        assert not ViewerSeries.objects.filter(participant=viewer).exists()
        assert included_audience(screening).media_time.tolist() == [0.0, 1.0]

    def test_a_participant_deleted_meanwhile_is_no_error(self, screening, monkeypatch):
        viewer = ParticipantFactory(screening=screening)
        EmotionSampleFactory(participant=viewer, media_time=0.0)
        self.meanwhile(monkeypatch, lambda: Participant.objects.filter(pk=viewer.pk).delete())
        included_audience(screening)
        assert not ViewerSeries.objects.exists()

    def test_the_export_leaves_out_a_participant_whose_samples_went_meanwhile(self, screening, monkeypatch):
        kept, gone = ParticipantFactory(screening=screening), ParticipantFactory(screening=screening)
        for viewer in (kept, gone):
            EmotionSampleFactory(participant=viewer, media_time=0.0)
        read = series_selectors._series_from_samples

        def samples_gone_first(screening, participants):  # type: ignore[no-untyped-def]
            services.participant_erase(participant=gone)
            return read(screening, participants)

        monkeypatch.setattr(series_selectors, "_series_from_samples", samples_gone_first)
        batches = list(series_sample_batches(screening, size=10))
        assert [batch.column("participant_id").to_pylist() for batch in batches] == [[kept.pk]]


class TestTheCommand:
    def test_it_builds_the_series_that_are_missing_and_says_how_many(self, screening, audience_of_two):
        out = io.StringIO()
        call_command("build_report_series", stdout=out)
        assert ViewerSeries.objects.filter(screening=screening).count() == 2
        assert f"({screening.pk}): 2 participants' series built" in out.getvalue()
        out = io.StringIO()
        call_command("build_report_series", screening=[screening.pk], stdout=out)
        assert f"({screening.pk}): 0 participants' series built" in out.getvalue()

    def test_an_unknown_screening_is_refused_by_id_and_nothing_is_built(self, screening, audience_of_two):
        with pytest.raises(CommandError, match="no screening with id 999999"):
            call_command("build_report_series", screening=[screening.pk, 999999])
        assert not ViewerSeries.objects.exists()
