"""Reads: which screenings and participants a user may see, and the numbers shown beside them."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from screenings.models import EmotionSample, Participant, Question, Screening

User = AbstractBaseUser | AnonymousUser


def _count_subquery(queryset: QuerySet, field: str = "screening") -> Coalesce:
    counted = queryset.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def screenings_for_organizer(*, user: User) -> QuerySet[Screening]:
    """The user's screenings with participant and sample counts, in one query."""
    return Screening.objects.for_organizer(user).annotate(
        invited_count=_count_subquery(Participant.objects.all()),
        completed_count=_count_subquery(Participant.objects.filter(state=Participant.State.COMPLETED)),
        sample_count=_count_subquery(EmotionSample.objects.all()),
    )


def screening_for_organizer(*, user: User, pk: int) -> Screening:
    """The screening with this id if the user organizes it; otherwise a 404, never a 403, so ids do not leak."""
    return get_object_or_404(Screening.objects.for_organizer(user), pk=pk)


def participant_by_token(*, token: str) -> Participant:
    return get_object_or_404(Participant.objects.select_related("screening"), token=token)


def questions_for_phase(*, screening: Screening, phase: str) -> list[Question]:
    return [question for question in screening.questions.all() if question.asked_in(phase)]


def participant_for_capture(*, token: str) -> Participant | None:
    """The participant behind a capture link with their screening, or None for an unknown token."""
    return Participant.objects.select_related("screening").filter(token=token).first()


def capture_allowed(participant: Participant) -> bool:
    """Frames are taken only from a watching participant of an open screening."""
    return participant.state == Participant.State.WATCHING and participant.screening.is_open
