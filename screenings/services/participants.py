"""A participant's journey: invites and joins, consent, questionnaires, watching, withdrawal and erasure."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from screenings.models import Answer, Participant, Question, Screening
from screenings.rules.errors import (
    AnswersInvalid,
    FaceNotChecked,
    PhaseError,
    QuotaReached,
    ScreeningNotOpen,
    StudyError,
)
from screenings.rules.questions import validate_answer_value
from screenings.selectors import questions_for_phase
from screenings.selectors.series import series_refresh
from screenings.services import totals as sample_totals

logger = logging.getLogger(__name__)

# A study's panel is hundreds of people; a request for more is a mistake or an attack.
MAX_INVITES_PER_REQUEST = 1_000
State = Participant.State

# Which state a participant must be in for each step, and where the step takes them.
# (The states are Participant.State members; typed Any because mypy reads TextChoices members as tuples.)
TRANSITIONS: dict[str, tuple[frozenset[Any], Any, str]] = {
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


def invites_create(*, screening: Screening, count: int, label: str = "") -> list[Participant]:
    """Create ``count`` participants, each with a personal link, for the organizer to send out.

    With a ``label`` each invite gets its own numbered one (``panel-A-01``, ``panel-A-02``...),
    continuing after the invites an earlier batch with the same label got, so participants can be
    told apart in every list and export.
    """
    if not 1 <= count <= MAX_INVITES_PER_REQUEST:
        raise StudyError(f"Create between 1 and {MAX_INVITES_PER_REQUEST} invites at a time.")
    label = label.strip()
    with transaction.atomic():
        # Locked, so two batches with the same label at once cannot number alike.
        Screening.objects.select_for_update().filter(pk=screening.pk).exists()
        labels = _numbered_labels(screening, label, count)
        participants = [
            Participant(screening=screening, source=Participant.Source.INVITE, label=text) for text in labels
        ]
        return Participant.objects.bulk_create(participants)


def _numbered_labels(screening: Screening, label: str, count: int) -> list[str]:
    if not label:
        return [""] * count
    pattern = re.compile(rf"^{re.escape(label)}-(\d+)$")
    taken = screening.participants.filter(label__startswith=f"{label}-").values_list("label", flat=True)
    first = 1 + max((int(match.group(1)) for text in taken if (match := pattern.match(text))), default=0)
    width = max(2, len(str(first + count - 1)))
    return [f"{label}-{number:0{width}d}"[:200] for number in range(first, first + count)]


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


def face_check_record(*, participant: Participant) -> None:
    """The camera check saw the participant's face; with ``require_face_check`` watching can now start."""
    Participant.objects.filter(pk=participant.pk, state=State.BEFORE_DONE).update(face_checked_at=timezone.now())


@transaction.atomic
def watching_start(*, participant: Participant) -> Participant:
    """The camera check passed: the participant may watch the stimulus.

    Raises ``FaceNotChecked`` when the screening requires the check to have seen the face and it has
    not: it is recorded on the server, so calling the page's address does not skip it.
    """
    locked = Participant.objects.select_for_update().select_related("screening").get(pk=participant.pk)
    _check_open(locked.screening)
    if locked.state == State.BEFORE_DONE and locked.screening.require_face_check and locked.face_checked_at is None:
        raise FaceNotChecked(
            "We have not seen your face yet. Sit facing the camera until the check says your face is clearly "
            "visible, then start the video."
        )
    return _advance(locked, "watch_start")


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
    """The journey's last step. The participant's samples are final now, so their report series is built
    once the step is committed (the first report view then reads it instead of the samples)."""
    completed = _advance(participant, "complete")
    transaction.on_commit(lambda: _series_prepare(completed))
    return completed


def _series_prepare(participant: Participant) -> None:
    # Derived data only, built after the journey's last step was committed: a report builds the
    # series itself when it is missing, so no failure here may turn the finished journey into an
    # error page.
    try:
        series_refresh(screening=participant.screening, participants=[participant.pk])
    except Exception:
        logger.exception("the report series of participant %s was not built; a report will build it", participant.pk)


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
        transaction.on_commit(lambda: stored_files_delete(frame_names))
    return participant


def stored_files_delete(names: Sequence[str]) -> None:
    """Delete these files from the media storage (kept frames, stimuli); call once the rows are gone."""
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


def participant_exclusion_set(*, participant: Participant, excluded: bool) -> Participant:
    """Leave a participant out of (or bring them back into) every report aggregate."""
    participant.excluded_from_reports = excluded
    participant.save(update_fields=["excluded_from_reports"])
    return participant


def participant_label_set(*, participant: Participant, label: str) -> Participant:
    """Change an organizer's note on a participant; only that column is written, so a journey step the
    participant takes meanwhile is never undone."""
    participant.label = label
    participant.save(update_fields=["label"])
    return participant
