"""Who a report reads: the screening's participants, or a segment's members, less the excluded ones.

The other report selectors build on these; reports and downloads reach them through
``selectors.reports``.
"""

from __future__ import annotations

from typing import TypeAlias

from django.db.models import QuerySet

from screenings.models import EmotionSample, Participant, Screening

# A segment's participant ids, or None for everyone.
Members: TypeAlias = frozenset[int] | None


def audience(screening: Screening, members: Members = None) -> QuerySet[Participant]:
    """The screening's participants, or only ``members`` of them."""
    participants = screening.participants.all()
    return participants if members is None else participants.filter(pk__in=members)


def included_samples(screening: Screening, *, members: Members = None) -> QuerySet[EmotionSample]:
    """The screening's samples without those of excluded participants (and only ``members``' when given).

    Selected through the participants, so the database walks the (participant, media time)
    index: rows come out in the order downloads want without sorting hundreds of thousands.
    """
    return EmotionSample.objects.filter(
        participant__in=audience(screening, members).filter(excluded_from_reports=False)
    )
