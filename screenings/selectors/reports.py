"""What a report reads from the database: the running totals, the included samples and answers.

Every read leaves out participants marked ``excluded_from_reports``. The set of excluded
participants is read once per report (``excluded_participant_ids``) and passed along.
``members`` (a segment's participant ids, ``selectors.segments.segment_members``) restricts a
read to them; None reads the whole audience.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet

from inference import EMOTIONS
from screenings.models import (
    Answer,
    EmotionSample,
    Participant,
    ParticipantTotals,
    Question,
    Scene,
    Screening,
    TimelineSlot,
)
from screenings.models.samples import DOMINANT_FIELDS, SLOT_TOTAL_COLUMNS
from screenings.rules.series import faces_per_slot
from screenings.rules.slots import SLOT_EPSILON, slot_width
from screenings.selectors.audience import Members, audience, included_samples
from screenings.selectors.samples import slot_rows
from screenings.selectors.series import included_audience


def participant_sample_stats(screening: Screening, *, members: Members = None) -> dict[int, dict[str, Any]]:
    """Per participant: samples, faces, mean of each emotion, and how often each emotion was dominant.

    Read from the participants' running totals (one row each), not from the samples.
    Probabilities count only where a face was found, so the means are over faces only.
    ``excluded`` says whether the participant is left out of reports, so the aggregates built on
    these stats need no other look-up of who is excluded.
    """
    stats: dict[int, dict[str, Any]] = {}
    totals_rows = ParticipantTotals.objects.filter(screening=screening)
    if members is not None:
        totals_rows = totals_rows.filter(participant_id__in=members)
    for totals in totals_rows.select_related("participant"):
        faces = totals.faces
        dominant = {emotion: getattr(totals, field) for emotion, field in DOMINANT_FIELDS.items()}
        stats[totals.participant_id] = {
            "n": totals.samples,
            "faces": faces,
            "excluded": totals.participant.excluded_from_reports,
            "dominant": {emotion: count for emotion, count in dominant.items() if count},
            **{emotion: (getattr(totals, emotion) / faces if faces else None) for emotion in EMOTIONS},
        }
    return stats


@dataclass(frozen=True)
class SlotTotals:
    """The included participants' faces summed per sampling slot (only slots with faces)."""

    width: float
    slots: np.ndarray  # slot numbers, ascending
    faces: np.ndarray
    participants: np.ndarray
    sums: np.ndarray  # (slots, 7): sum of each emotion's probability
    dominant: np.ndarray  # (slots, 7): faces with each emotion dominant


SLOT_COLUMNS = ["slot", *SLOT_TOTAL_COLUMNS]


def included_slots(screening: Screening, *, excluded: set[int] | None = None, members: Members = None) -> SlotTotals:
    """The screening's timeline slots less what excluded participants put in them.

    Excluded participants are few, so their samples are summed again and subtracted; everyone
    else is read from the running totals. ``excluded`` (the excluded participants' ids) saves
    reading them when the caller already has them. A segment's ``members`` are summed from
    their packed series (``selectors.series``), not from the samples.
    """
    width = slot_width(screening)
    excluded = excluded_participant_ids(screening) if excluded is None else excluded
    if members is not None:
        return _slot_totals(width, _members_slot_table(screening, width, members - excluded))
    table = np.array(
        TimelineSlot.objects.filter(screening=screening).order_by("slot").values_list(*SLOT_COLUMNS), dtype=np.float64
    ).reshape(-1, len(SLOT_COLUMNS))
    if excluded and len(table):
        position = {int(slot): index for index, slot in enumerate(table[:, 0])}
        samples = EmotionSample.objects.filter(screening=screening, participant_id__in=excluded)
        for row in slot_rows(samples, width):
            index = position.get(int(row["slot"]))
            if index is not None:
                table[index, 1:] -= [row[column] or 0.0 for column in SLOT_TOTAL_COLUMNS]
    return _slot_totals(width, table)


def _members_slot_table(screening: Screening, width: float, members: frozenset[int]) -> np.ndarray:
    """The SLOT_COLUMNS table of only ``members``' faces (the included ones: excluded are already left out)."""
    if not members:
        return np.zeros((0, len(SLOT_COLUMNS)))
    return faces_per_slot(included_audience(screening, members=members), width, epsilon=SLOT_EPSILON)


def _slot_totals(width: float, table: np.ndarray) -> SlotTotals:
    """A SLOT_COLUMNS table as SlotTotals, slots without faces left out."""
    table = table[table[:, 1] > 0.5] if len(table) else table
    return SlotTotals(
        width=width,
        slots=table[:, 0].astype(np.int64),
        faces=table[:, 1],
        participants=table[:, 2],
        sums=table[:, 3 : 3 + len(EMOTIONS)],
        dominant=table[:, 3 + len(EMOTIONS) :],
    )


def excluded_participant_ids(screening: Screening) -> set[int]:
    """The participants an organizer left out of the reports."""
    return set(screening.participants.filter(excluded_from_reports=True).values_list("pk", flat=True))


def included_faces_within(
    screening: Screening, spans: list[tuple[float, float]], *, members: Members = None
) -> list[tuple[float, str, np.ndarray]]:
    """Included faces whose media time lies in any of ``spans``: (media time, dominant emotion, probabilities)."""
    if not spans:
        return []
    within = Q()
    for low, high in spans:
        within |= Q(media_time__gte=low, media_time__lt=high)
    faces = included_samples(screening, members=members).filter(within, face_found=True)
    rows = faces.values_list("media_time", "dominant_emotion", *EMOTIONS)
    return [(row[0], row[1], np.array(row[2:], dtype=np.float64)) for row in rows]


def participant_states(screening: Screening, *, members: Members = None) -> list[str]:
    """Every participant's journey state, for the funnel."""
    return list(audience(screening, members).values_list("state", flat=True))


def watchers(screening: Screening, *, members: Members = None) -> QuerySet[Participant]:
    """The participants who started watching, in id order."""
    return audience(screening, members).exclude(watch_started_at=None).order_by("pk")


def included_participants(screening: Screening, *, members: Members = None) -> QuerySet[Participant]:
    """The participants the reports count, in id order."""
    return audience(screening, members).filter(excluded_from_reports=False).order_by("pk")


def included_participant_names(screening: Screening, *, members: Members = None) -> dict[int, str]:
    """Each included participant's name as pages show it (id, label, panel id), by id."""
    return {participant.pk: str(participant) for participant in included_participants(screening, members=members)}


def screening_questions(screening: Screening) -> list[Question]:
    return list(screening.questions.all())


def screening_scenes(screening: Screening) -> list[Scene]:
    return list(screening.scenes.all())


def _included_answers(screening: Screening, members: Members) -> QuerySet[Answer]:
    answers = Answer.objects.filter(participant__screening=screening, participant__excluded_from_reports=False)
    return answers if members is None else answers.filter(participant_id__in=members)


def included_answer_rows(screening: Screening, *, phase: str | None = None, members: Members = None) -> QuerySet:
    """(question id, phase, participant id, value) of each included participant's answers."""
    answers = _included_answers(screening, members)
    if phase is not None:
        answers = answers.filter(phase=phase)
    return answers.values_list("question_id", "phase", "participant_id", "value")


def included_answers(screening: Screening, *, members: Members = None) -> QuerySet[Answer]:
    """The included participants' answers with their participant and question, by participant and phase."""
    answers = _included_answers(screening, members)
    return answers.select_related("participant", "question").order_by("participant_id", "phase")


def answer_values(screening: Screening) -> dict[tuple[int, int, str], Any]:
    """Every answer's value by (participant id, question id, phase)."""
    rows = Answer.objects.filter(participant__screening=screening).values_list(
        "participant_id", "question_id", "phase", "value"
    )
    return {(participant_id, question_id, phase): value for participant_id, question_id, phase, value in rows}


def participant_samples(participant: Participant) -> list[EmotionSample]:
    return list(participant.samples.order_by("media_time"))


def participant_answer_values(participant: Participant) -> dict[tuple[int, str], Any]:
    """The participant's answers by (question id, phase)."""
    return {(answer.question_id, answer.phase): answer.value for answer in participant.answers.all()}
