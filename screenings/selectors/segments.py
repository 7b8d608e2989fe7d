"""Reads about segments: a screening's segments, and which of its participants belong to each."""

from __future__ import annotations

import re
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import F, Q, QuerySet

from screenings.models import Answer, Participant, Question, Screening, Segment
from screenings.rules.segments import CAPTURE_RECORDING, answer_meets, rule_text


def screening_segments(screening: Screening) -> list[Segment]:
    """The screening's saved segments, by name."""
    return list(screening.segments.all())


def segment_in_screening(*, screening: Screening, pk: int) -> Segment | None:
    """The segment with this id if it is one of ``screening``'s, else None (a segment of another screening too)."""
    return screening.segments.filter(pk=pk).first()


def questions_by_id(screening: Screening) -> dict[int, Question]:
    """The screening's questions by id, for checking rules and putting them in words."""
    return {question.pk: question for question in screening.questions.all()}


def segment_members(segment: Segment) -> frozenset[int]:
    """The ids of the screening's participants who meet every rule of ``segment``."""
    members = set(segment.screening.participants.values_list("pk", flat=True))
    for rule in segment.rules:
        if not members:
            break
        members &= _meeting(segment.screening, rule)
    return frozenset(members)


def segment_memberships(screening: Screening) -> list[tuple[Segment, frozenset[int]]]:
    """Each saved segment of ``screening`` with its members, for the downloads' membership columns."""
    return [(segment, segment_members(segment)) for segment in screening_segments(screening)]


def _meeting(screening: Screening, rule: dict[str, Any]) -> set[int]:
    """The participants of ``screening`` who meet one checked rule."""
    if "question" in rule:
        answers = Answer.objects.filter(
            participant__screening=screening, question_id=rule["question"], phase=rule["phase"]
        ).values_list("participant_id", "value")
        return {participant_id for participant_id, value in answers if answer_meets(rule, value)}
    if "label" in rule:
        return _labelled(screening.participants.all(), rule["label"])
    return set(_participants_meeting(screening.participants.all(), rule).values_list("pk", flat=True))


def _labelled(participants: QuerySet[Participant], labels: list[str]) -> set[int]:
    """Those labelled one of ``labels``, or numbered in a batch of invites made with one (``wave-1-07``)."""
    patterns = [re.compile(rf"{re.escape(label)}(-\d+)?") for label in labels]
    candidates = participants.filter(reduce(or_, (Q(label__startswith=label) for label in labels)))
    return {pk for pk, text in candidates.values_list("pk", "label") if any(p.fullmatch(text) for p in patterns)}


def _participants_meeting(participants: QuerySet[Participant], rule: dict[str, Any]) -> QuerySet[Participant]:
    if "panel_id" in rule:
        return participants.filter(external_id__in=rule["panel_id"])
    if "capture" in rule:
        if rule["capture"] == CAPTURE_RECORDING:
            return participants.filter(source=Participant.Source.RECORDING)
        return participants.exclude(source=Participant.Source.RECORDING)
    # A hair below the rate, so that 7 faces in 100 frames meet 0.07 (0.07 * 100 is 7.000000000000001).
    rate = rule["min_face_rate"] - 1e-9
    return participants.filter(totals__samples__gt=0, totals__faces__gte=rate * F("totals__samples"))


def segment_summary(
    segment: Segment, *, members: frozenset[int] | None = None, questions: dict[int, Question] | None = None
) -> dict[str, Any]:
    """A segment as pages and the report's JSON show it: id, name, rules (as stored and in words), how many
    participants meet them. ``members`` and ``questions`` save reading them again when the caller has them."""
    questions = questions_by_id(segment.screening) if questions is None else questions
    members = segment_members(segment) if members is None else members
    return {
        "id": segment.pk,
        "name": segment.name,
        "rules": segment.rules,
        "described": [rule_text(rule, questions) for rule in segment.rules],
        "participants": len(members),
    }
