"""Samples summed per sampling slot and per participant (in SQL), for the running totals and the reports."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast, Floor

from inference import EMOTIONS
from screenings.models import EmotionSample
from screenings.models.samples import DOMINANT_FIELDS
from screenings.rules.slots import SLOT_EPSILON


def slot_expression(width: float) -> Floor:
    """The SQL twin of :func:`screenings.rules.slots.slot_of`."""
    return Floor(Cast(F("media_time"), FloatField()) / width + SLOT_EPSILON)


def _sums_and_dominants() -> dict[str, Any]:
    aggregates: dict[str, Any] = {emotion: Sum(emotion) for emotion in EMOTIONS}
    for emotion, field in DOMINANT_FIELDS.items():
        aggregates[field] = Count("pk", filter=Q(dominant_emotion=emotion))
    return aggregates


def slot_rows(samples: QuerySet[EmotionSample], width: float) -> list[dict[str, Any]]:
    """The faces among ``samples`` summed per slot: faces, participants, emotion sums, dominant counts."""
    return list(
        samples.filter(face_found=True)
        .annotate(slot=slot_expression(width))
        .values("slot")
        .annotate(faces=Count("pk"), participants=Count("participant", distinct=True), **_sums_and_dominants())
        .order_by("slot")
    )


def participant_rows(samples: QuerySet[EmotionSample]) -> list[dict[str, Any]]:
    """``samples`` summed per participant: samples, faces, emotion sums over faces, dominant counts."""
    return list(
        samples.values("participant")
        .annotate(samples=Count("pk"), faces=Count("pk", filter=Q(face_found=True)), **_sums_and_dominants())
        .order_by("participant")
    )
