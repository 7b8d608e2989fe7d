"""Reads about screenings: which a user may see, with the numbers shown beside them."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from rest_framework.authtoken.models import Token

from inference import EMOTIONS
from screenings.models import EmotionSample, Participant, Question, Screening, TimelineSlot
from screenings.rules.slots import slot_width

User: TypeAlias = AbstractBaseUser | AnonymousUser


def count_subquery(queryset: QuerySet, field: str = "screening") -> Coalesce:
    counted = queryset.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def screenings_for_organizer(*, user: User) -> QuerySet[Screening]:
    """The user's screenings with participant and sample counts, in one query."""
    return Screening.objects.for_organizer(user).annotate(
        invited_count=count_subquery(Participant.objects.all()),
        completed_count=count_subquery(Participant.objects.filter(state=Participant.State.COMPLETED)),
        sample_count=count_subquery(EmotionSample.objects.all()),
    )


def screening_for_organizer(*, user: User, pk: int) -> Screening | None:
    """The screening with this id if the user organizes it, else None (interfaces answer 404, never 403, so ids
    do not leak)."""
    return Screening.objects.for_organizer(user).filter(pk=pk).first()


def screening_by_slug(*, slug: str) -> Screening | None:
    """The screening behind an open link."""
    return Screening.objects.filter(slug=slug).first()


def questions_for_phase(*, screening: Screening, phase: str) -> list[Question]:
    """The questions a participant is asked in ``phase``: retired ones are no longer asked."""
    return [question for question in screening.questions.all() if question.asked_in(phase) and not question.retired]


def audience_running_mean(*, screening: Screening) -> list[dict]:
    """Per sampling slot of media time: how many faces were read and the mean of each emotion across them."""
    width = slot_width(screening)
    return [
        {"media_time": slot.slot * width, "n": slot.faces, **{e: getattr(slot, e) / slot.faces for e in EMOTIONS}}
        for slot in TimelineSlot.objects.filter(screening=screening, faces__gt=0).order_by("slot")
    ]


def api_token_exists(*, user: User) -> bool:
    """Whether the organizer has an API token (its key is shown only when it is made)."""
    return Token.objects.filter(user_id=user.pk).exists()
