"""Every change of state in a screening study goes through one of these functions."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from inference.labels import EMOTIONS
from screenings.models import Answer, EmotionSample, Participant, Question, Screening
from screenings.rules.questions import validate_answer_value
from screenings.selectors import capture_allowed_for, questions_for_phase
from screenings.services import totals as sample_totals

logger = logging.getLogger(__name__)

MAX_INVITES_PER_REQUEST = 10_000
State = Participant.State

# Which state a participant must be in for each step, and where the step takes them.
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "consent": (frozenset({State.INVITED}), State.CONSENTED, "consented_at"),
    "decline": (frozenset({State.INVITED}), State.DECLINED, "declined_at"),
    "before": (frozenset({State.CONSENTED}), State.BEFORE_DONE, "before_done_at"),
    "watch_start": (frozenset({State.BEFORE_DONE}), State.WATCHING, "watch_started_at"),
    "watch_finish": (frozenset({State.WATCHING}), State.WATCHED, "watched_at"),
    "after": (frozenset({State.WATCHED}), State.AFTER_DONE, "after_done_at"),
    "complete": (frozenset({State.AFTER_DONE}), State.COMPLETED, "completed_at"),
}
ACTIVE_STATES = frozenset(
    {State.CONSENTED, State.BEFORE_DONE, State.WATCHING, State.WATCHED, State.AFTER_DONE, State.COMPLETED}
)


class StudyError(Exception):
    """A request the study's rules do not allow; the message is meant for the person who made it."""


class ScreeningNotOpen(StudyError):
    pass


class QuotaReached(StudyError):
    pass


class PhaseError(StudyError):
    pass


class AnswersInvalid(StudyError):
    def __init__(self, errors: dict[int, list[str]]) -> None:
        super().__init__("Some answers need attention.")
        self.errors = errors


# Screenings ---------------------------------------------------------------------------------


def screening_open(*, screening: Screening) -> Screening:
    """Open a screening to participants; it needs a stimulus and a consent text."""
    if not screening.has_stimulus:
        raise StudyError("A screening needs a stimulus video before it can open.")
    if not screening.consent_text.strip():
        raise StudyError("A screening needs a consent text before it can open.")
    screening.status = Screening.Status.OPEN
    screening.opened_at = screening.opened_at or timezone.now()
    screening.closed_at = None
    screening.save(update_fields=["status", "opened_at", "closed_at", "updated_at"])
    return screening


def screening_close(*, screening: Screening) -> Screening:
    """Close a screening: no one can join or continue; everything recorded stays."""
    screening.status = Screening.Status.CLOSED
    screening.closed_at = timezone.now()
    screening.save(update_fields=["status", "closed_at", "updated_at"])
    return screening


def stimulus_duration_read(*, path: str) -> float | None:
    """Read a video file's duration in seconds, or None when the container does not say."""
    import av

    try:
        with av.open(path) as container:
            if container.duration is not None:
                return container.duration / av.time_base
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, IndexError, OSError) as error:
        logger.warning("could not read the duration of %s: %s", path, error)
    return None


def screening_save(*, screening: Screening) -> Screening:
    """Save a screening; an uploaded stimulus without a known duration gets one read from the file."""
    with transaction.atomic():
        screening.save()
    if screening.stimulus and screening.stimulus_duration is None:
        duration = stimulus_duration_read(path=screening.stimulus.path)
        if duration is not None:
            screening.stimulus_duration = duration
            screening.save(update_fields=["stimulus_duration"])
    return screening


# Participants -------------------------------------------------------------------------------


def invites_create(*, screening: Screening, count: int, label: str = "") -> list[Participant]:
    """Create ``count`` participants, each with a personal link, for the organizer to send out."""
    if not 1 <= count <= MAX_INVITES_PER_REQUEST:
        raise StudyError(f"Create between 1 and {MAX_INVITES_PER_REQUEST} invites at a time.")
    participants = [
        Participant(screening=screening, source=Participant.Source.INVITE, label=label) for _ in range(count)
    ]
    return Participant.objects.bulk_create(participants)


def _seats_taken(screening: Screening) -> int:
    return screening.participants.filter(state__in=ACTIVE_STATES).count()


def _check_open(screening: Screening) -> None:
    if not screening.is_open:
        raise ScreeningNotOpen("This screening is not open.")


def participant_join(*, screening: Screening, external_id: str = "", user_agent: str = "") -> Participant:
    """Join through the open link; a panel id seen before resumes that participant instead of adding one."""
    external_id = external_id.strip()[:200]
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        _check_open(screening)
        if external_id:
            existing = screening.participants.filter(external_id=external_id).first()
            if existing is not None:
                return existing
        if screening.participant_quota is not None and _seats_taken(screening) >= screening.participant_quota:
            raise QuotaReached("This screening has all the participants it needs. Thank you for your interest.")
        try:
            with transaction.atomic():
                return Participant.objects.create(
                    screening=screening,
                    source=Participant.Source.OPEN_LINK,
                    external_id=external_id,
                    user_agent=user_agent[:400],
                )
        except IntegrityError:
            # Two tabs with the same panel id raced; the other one created it.
            return screening.participants.get(external_id=external_id)


def participant_record(*, screening: Screening, label: str = "") -> Participant:
    """A participant filmed in the lab rather than captured live: their samples come from a recording."""
    now = timezone.now()
    return Participant.objects.create(
        screening=screening,
        label=label,
        source=Participant.Source.RECORDING,
        state=Participant.State.WATCHED,
        watch_started_at=now,
        watched_at=now,
    )


def _advance(participant: Participant, step: str, **changes: Any) -> Participant:
    """Move a participant through one step of the journey, refusing skips and repeats."""
    allowed_from, target, timestamp_field = TRANSITIONS[step]
    locked = Participant.objects.select_for_update().select_related("screening").get(pk=participant.pk)
    _check_open(locked.screening)
    if locked.state not in allowed_from:
        raise PhaseError(f"This step is not available now (the participant is {locked.get_state_display().lower()}).")
    locked.state = target
    setattr(locked, timestamp_field, timezone.now())
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=["state", timestamp_field, *changes])
    return locked


@transaction.atomic
def participant_consent(*, participant: Participant, user_agent: str = "") -> Participant:
    """Record consent; with a quota, consenting takes a seat, so a full screening refuses it."""
    screening = Screening.objects.select_for_update().get(pk=participant.screening_id)
    quota = screening.participant_quota
    if quota is not None and participant.source == Participant.Source.OPEN_LINK and _seats_taken(screening) >= quota:
        raise QuotaReached("This screening has all the participants it needs. Thank you for your interest.")
    changes = {"user_agent": user_agent[:400]} if user_agent else {}
    return _advance(participant, "consent", **changes)


@transaction.atomic
def participant_decline(*, participant: Participant) -> Participant:
    return _advance(participant, "decline")


@transaction.atomic
def questionnaire_submit(*, participant: Participant, phase: str, answers: Mapping[int, Any]) -> Participant:
    """Store the answers of the before or after questionnaire, all or nothing, and move the participant on."""
    if phase not in (Question.Phase.BEFORE, Question.Phase.AFTER):
        raise StudyError(f"unknown questionnaire phase {phase!r}")
    step = "before" if phase == Question.Phase.BEFORE else "after"
    participant = _advance(participant, step)
    questions = questions_for_phase(screening=participant.screening, phase=phase)
    errors: dict[int, list[str]] = {}
    values: dict[int, Any] = {}
    for question in questions:
        try:
            values[question.pk] = validate_answer_value(question, answers.get(question.pk))
        except ValidationError as error:
            errors[question.pk] = error.messages
    unknown = set(answers) - {q.pk for q in questions}
    if unknown:
        raise StudyError("Answers were sent for questions that are not in this questionnaire.")
    if errors:
        # Raising inside the atomic block rolls back the state change too: nothing is stored half-way.
        raise AnswersInvalid(errors)
    Answer.objects.bulk_create(
        [Answer(participant=participant, question_id=pk, phase=phase, value=value) for pk, value in values.items()]
    )
    return participant


@transaction.atomic
def watching_start(*, participant: Participant) -> Participant:
    """The camera check passed: the participant may watch the stimulus."""
    return _advance(participant, "watch_start")


@transaction.atomic
def watching_finish(*, participant: Participant, position: float | None = None) -> Participant:
    """Playback reached the end: capture stops and the after questionnaire opens."""
    changes = {"watch_position": float(position)} if position is not None else {}
    return _advance(participant, "watch_finish", **changes)


def watch_position_record(*, participant: Participant, position: float) -> None:
    """Remember how far a watching participant got, so a return through the same link resumes there."""
    Participant.objects.filter(pk=participant.pk, state=State.WATCHING).update(watch_position=max(0.0, position))


@transaction.atomic
def participant_complete(*, participant: Participant) -> Participant:
    return _advance(participant, "complete")


def participant_erase(*, participant: Participant) -> Participant:
    """Delete a participant's answers, samples and kept frames, and blank what identifies them (erasure requests)."""
    with transaction.atomic():
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        frame_names = [name for name in participant.samples.exclude(frame="").values_list("frame", flat=True)]
        participant.answers.all().delete()
        sample_totals.totals_remove_participant(participant)
        participant.samples.all().delete()
        participant.external_id = ""
        participant.user_agent = ""
        participant.label = ""
        participant.erased_at = timezone.now()
        participant.save(update_fields=["external_id", "user_agent", "label", "erased_at"])
        transaction.on_commit(lambda: _delete_frame_files(frame_names))
    return participant


def _delete_frame_files(names: Sequence[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)


@transaction.atomic
def participant_withdraw(*, participant: Participant) -> Participant:
    """The participant leaves the study; what they gave so far is erased, as the consent page promises."""
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    if locked.has_ended:
        raise PhaseError("You have already finished or left this study.")
    locked.state = State.WITHDRAWN
    locked.withdrawn_at = timezone.now()
    locked.save(update_fields=["state", "withdrawn_at"])
    return participant_erase(participant=locked)


# Samples ------------------------------------------------------------------------------------


def sample_record(
    *,
    participant: Participant,
    media_time: float,
    probabilities: Mapping[str, float] | None,
    face_box: tuple[int, int, int, int] | None = None,
    model_version: str = "",
    captured_at: datetime | None = None,
) -> tuple[EmotionSample, bool]:
    """Store the emotion read at ``media_time``; the same media time again returns the stored sample.

    ``probabilities`` is None when no face was found. Returns the sample and whether it was new.
    """
    media_time = round(float(media_time), 3)
    fields: dict[str, Any] = {
        "participant": participant,
        "screening_id": participant.screening_id,
        "media_time": media_time,
        "captured_at": captured_at or timezone.now(),
        "face_found": probabilities is not None,
        "model_version": model_version,
    }
    if probabilities is not None:
        missing = set(EMOTIONS) - set(probabilities)
        if missing:
            raise ValueError(f"probabilities lack {sorted(missing)}")
        fields.update({emotion: float(probabilities[emotion]) for emotion in EMOTIONS})
        fields["dominant_emotion"] = max(EMOTIONS, key=lambda emotion: probabilities[emotion])
    if face_box is not None:
        fields.update(dict(zip(("face_x", "face_y", "face_width", "face_height"), face_box, strict=True)))
    try:
        # Insert first: a new frame (the common case) costs one query, a re-sent one two.
        with transaction.atomic():
            sample = EmotionSample.objects.create(**fields)
            sample_totals.totals_add(sample, screening=participant.screening)
            return sample, True
    except IntegrityError:
        return EmotionSample.objects.get(participant=participant, media_time=media_time), False


@transaction.atomic
def captured_sample_record(
    *,
    participant: Participant,
    media_time: float,
    probabilities: Mapping[str, float] | None,
    face_box: tuple[int, int, int, int] | None = None,
    model_version: str = "",
    frame_image: bytes | None = None,
) -> tuple[EmotionSample, bool]:
    """``sample_record`` for live capture, only while the participant may still be captured.

    The check (``selectors.capture_allowed``, on the stored row) runs under the participant's row
    lock, which withdrawal and erasure take too: a frame still being read when the participant
    withdraws or is erased is refused here (``PhaseError``), never stored after the erasure.
    ``frame_image`` is kept with a new sample, in the same transaction, when the screening keeps
    frames, so an erasure that follows finds the file and deletes it.
    """
    # Four columns, not two model instances: this runs for every webcam frame.
    state, erased_at, status, keep_frames = (
        Participant.objects.select_for_update(of=("self",))
        .filter(pk=participant.pk)
        .values_list("state", "erased_at", "screening__status", "screening__keep_raw_frames")
        .get()
    )
    if not capture_allowed_for(state, erased_at, status):
        raise PhaseError("This participant is not watching now.")
    sample, created = sample_record(
        participant=participant,
        media_time=media_time,
        probabilities=probabilities,
        face_box=face_box,
        model_version=model_version,
    )
    if created and keep_frames and frame_image is not None:
        sample_frame_keep(sample=sample, content=ContentFile(frame_image))
    return sample, created


def sample_frame_keep(*, sample: EmotionSample, content: ContentFile) -> EmotionSample:
    """Keep the raw webcam frame behind a sample (only for screenings that keep frames)."""
    name = f"frames/{sample.screening_id}/{sample.participant_id}/{sample.media_time:010.3f}.jpg"
    sample.frame.save(name, content, save=False)
    EmotionSample.objects.filter(pk=sample.pk).update(frame=sample.frame.name)
    return sample


def capture_connection_record(*, participant: Participant, channel_name: str) -> None:
    """Remember which live connection captures for this participant (shown in the organizer's live view)."""
    Participant.objects.filter(pk=participant.pk).update(capture_channel=channel_name)


def capture_disconnection_record(*, participant: Participant, channel_name: str) -> None:
    """Forget the connection, unless a newer one has replaced it meanwhile."""
    Participant.objects.filter(pk=participant.pk, capture_channel=channel_name).update(capture_channel="")


def participant_exclusion_set(*, participant: Participant, excluded: bool) -> Participant:
    """Leave a participant out of (or bring them back into) every report aggregate."""
    participant.excluded_from_reports = excluded
    participant.save(update_fields=["excluded_from_reports"])
    return participant
