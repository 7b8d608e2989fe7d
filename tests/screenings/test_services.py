from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from screenings import services
from screenings.models import Answer, EmotionSample, Participant, Question, Screening
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    ParticipantFactory,
    QuestionFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db
State = Participant.State
PROBABILITIES = {"angry": 0.1, "disgust": 0.0, "fear": 0.0, "happy": 0.6, "sad": 0.1, "surprise": 0.1, "neutral": 0.1}


class TestOpeningAndClosing:
    def test_a_screening_opens_and_closes(self):
        screening = ScreeningFactory(status=Screening.Status.DRAFT)
        services.screening_open(screening=screening)
        assert screening.status == Screening.Status.OPEN and screening.opened_at is not None
        services.screening_close(screening=screening)
        screening.refresh_from_db()
        assert screening.status == Screening.Status.CLOSED and screening.closed_at is not None

    def test_a_screening_without_a_stimulus_cannot_open(self):
        screening = ScreeningFactory(status=Screening.Status.DRAFT, stimulus="")
        with pytest.raises(services.StudyError, match="stimulus"):
            services.screening_open(screening=screening)
        screening.refresh_from_db()
        assert screening.status == Screening.Status.DRAFT

    def test_a_screening_without_consent_text_cannot_open(self):
        screening = ScreeningFactory(status=Screening.Status.DRAFT, consent_text="  ")
        with pytest.raises(services.StudyError, match="consent"):
            services.screening_open(screening=screening)


class TestInvites:
    def test_each_invite_gets_its_own_unguessable_token(self, screening):
        participants = services.invites_create(screening=screening, count=50, label="wave 1")
        tokens = {p.token for p in Participant.objects.filter(screening=screening)}
        assert len(participants) == len(tokens) == 50
        # 32 random bytes in URL-safe base64: 43 characters, 256 bits.
        assert all(len(token) >= 43 and token.replace("-", "").replace("_", "").isalnum() for token in tokens)

    def test_a_batch_numbers_its_labels_and_a_later_batch_continues(self, screening):
        first = services.invites_create(screening=screening, count=3, label="panel-A")
        later = services.invites_create(screening=screening, count=2, label="panel-A")
        other = services.invites_create(screening=screening, count=1, label="panel-B")
        assert [p.label for p in first + later + other] == [
            "panel-A-01", "panel-A-02", "panel-A-03", "panel-A-04", "panel-A-05", "panel-B-01",
        ]  # fmt: skip

    def test_invites_without_a_label_stay_unlabelled(self, screening):
        assert {p.label for p in services.invites_create(screening=screening, count=2)} == {""}

    @pytest.mark.parametrize("count", [0, -1, 1_001, 10_001])
    def test_it_refuses_invite_counts_out_of_range(self, screening, count):
        with pytest.raises(services.StudyError):
            services.invites_create(screening=screening, count=count)
        assert not Participant.objects.exists()


class TestQuestionnaireSubmit:
    def test_answers_for_questions_outside_the_questionnaire_store_nothing(self, screening):
        before = QuestionFactory(screening=screening, phase=Question.Phase.BEFORE, required=False)
        after = QuestionFactory(screening=screening, phase=Question.Phase.AFTER)
        participant = ParticipantFactory(screening=screening, state=State.CONSENTED)
        with pytest.raises(services.StudyError):
            services.questionnaire_submit(
                participant=participant, phase="before", answers={before.pk: "", after.pk: "x"}
            )
        participant.refresh_from_db()
        assert participant.state == State.CONSENTED
        assert not Answer.objects.exists()

    def test_invalid_answers_leave_the_phase_unchanged(self, screening):
        question = QuestionFactory(screening=screening, phase=Question.Phase.BEFORE, kind=Question.Kind.LIKERT7)
        participant = ParticipantFactory(screening=screening, state=State.CONSENTED)
        with pytest.raises(services.AnswersInvalid) as invalid:
            services.questionnaire_submit(participant=participant, phase="before", answers={question.pk: 8})
        assert question.pk in invalid.value.errors
        participant.refresh_from_db()
        assert participant.state == State.CONSENTED

    def test_the_same_questionnaire_cannot_be_submitted_twice(self, screening):
        participant = ParticipantFactory(screening=screening, state=State.CONSENTED)
        services.questionnaire_submit(participant=participant, phase="before", answers={})
        with pytest.raises(services.PhaseError):
            services.questionnaire_submit(participant=participant, phase="before", answers={})

    def test_a_closed_screening_accepts_no_answers(self, screening):
        participant = ParticipantFactory(screening=screening, state=State.CONSENTED)
        services.screening_close(screening=screening)
        with pytest.raises(services.ScreeningNotOpen):
            services.questionnaire_submit(participant=participant, phase="before", answers={})


class TestErasure:
    def test_erasing_removes_answers_samples_and_kept_frames_of_that_participant_only(
        self, screening, django_capture_on_commit_callbacks
    ):
        erased = ParticipantFactory(screening=screening, external_id="panel-1", state=State.COMPLETED)
        kept = ParticipantFactory(screening=screening)
        AnswerFactory(participant=erased)
        AnswerFactory(participant=kept)
        sample = EmotionSampleFactory(participant=erased)
        sample.frame.save("frame.jpg", ContentFile(b"jpeg"), save=True)
        frame_path = sample.frame.path
        EmotionSampleFactory(participant=kept)

        with django_capture_on_commit_callbacks(execute=True):
            services.participant_erase(participant=erased)
        erased.refresh_from_db()
        assert not erased.answers.exists() and not erased.samples.exists()
        assert erased.external_id == "" and erased.erased_at is not None
        assert kept.answers.count() == 1 and kept.samples.count() == 1
        assert not Path(frame_path).exists()


class TestSampleRecord:
    def test_a_frame_sent_again_at_the_same_media_time_is_the_same_sample(self, screening):
        participant = ParticipantFactory(screening=screening, state=State.WATCHING)
        first, created = services.sample_record(participant=participant, media_time=3.0, probabilities=PROBABILITIES)
        again, created_again = services.sample_record(participant=participant, media_time=3.0004, probabilities=None)
        assert created and not created_again
        assert first.pk == again.pk
        assert EmotionSample.objects.count() == 1
        assert first.dominant_emotion == "happy" and first.screening_id == screening.pk

    def test_a_frame_without_a_face_is_stored_as_such(self, screening):
        participant = ParticipantFactory(screening=screening, state=State.WATCHING)
        sample, _ = services.sample_record(participant=participant, media_time=1, probabilities=None)
        assert not sample.face_found and sample.probabilities is None and sample.dominant_emotion == ""

    def test_probabilities_missing_an_emotion_are_refused(self, screening):
        participant = ParticipantFactory(screening=screening, state=State.WATCHING)
        with pytest.raises(ValueError, match="neutral"):
            services.sample_record(
                participant=participant,
                media_time=1,
                probabilities={k: v for k, v in PROBABILITIES.items() if k != "neutral"},
            )
        assert not EmotionSample.objects.exists()


def test_the_stimulus_duration_is_read_from_an_uploaded_video(organizer, tmp_path):
    from screenings.services.demo import stimulus_video_write

    path = tmp_path / "clip.mp4"
    stimulus_video_write(path, width=160, height=96)
    screening = Screening(title="Clip", slug="clip", consent_text="ok", owner=organizer)
    screening.stimulus.save("clip.mp4", ContentFile(path.read_bytes()), save=False)
    services.screening_save(screening=screening)
    screening.refresh_from_db()
    assert screening.stimulus_duration == pytest.approx(18.0, abs=0.1)
