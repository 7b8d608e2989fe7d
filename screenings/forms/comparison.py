"""What an organizer asks to compare, checked with clear messages; screenings they do not organize are 404."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, QueryDict

from screenings.models import Screening
from screenings.reports.comparison import MAX_COMPARED, SCALES


class ComparisonError(ValueError):
    """A request the organizer can fix: the message says how."""


@dataclass(frozen=True)
class ComparisonRequest:
    screenings: list[Screening]
    scale: str


def _ids(query: QueryDict) -> list[int]:
    # Either repeated (?screenings=1&screenings=2, as the page's form sends) or comma-separated (the API).
    raw = [part.strip() for value in query.getlist("screenings") for part in value.split(",") if part.strip()]
    try:
        ids = [int(part) for part in raw]
    except ValueError:
        raise ComparisonError("screenings must be screening ids (whole numbers)") from None
    return list(dict.fromkeys(ids))


def comparison_request(query: QueryDict, *, pool: list[Screening]) -> ComparisonRequest | None:
    """The screenings and scale asked for in ``query``, None when none were chosen yet.

    Raises ``Http404`` for an id not among ``pool`` (the organizer's screenings: another
    organizer's are not found, as everywhere), ``ComparisonError`` for anything else wrong.
    """
    ids = _ids(query)
    scale = query.get("scale") or SCALES[0]
    if scale not in SCALES:
        raise ComparisonError(f"scale must be one of: {', '.join(SCALES)}")
    if not ids:
        return None
    by_id = {screening.pk: screening for screening in pool}
    if any(screening_id not in by_id for screening_id in ids):
        raise Http404("No such screening.")
    if not 2 <= len(ids) <= MAX_COMPARED:
        raise ComparisonError(f"choose between 2 and {MAX_COMPARED} screenings to compare")
    return ComparisonRequest([by_id[screening_id] for screening_id in ids], scale)
