"""The scenes of a screening's stimulus: created, changed and deleted here only."""

from __future__ import annotations

from typing import Any

from screenings.models import Marker, Screening


def marker_create(*, screening: Screening, **fields: Any) -> Marker:
    """Add a scene to ``screening``."""
    marker = Marker(screening=screening, **fields)
    marker.clean()
    marker.save()
    return marker


def marker_update(*, marker: Marker, **changes: Any) -> Marker:
    """Change the given fields of a scene and save only those."""
    for field, value in changes.items():
        setattr(marker, field, value)
    marker.clean()
    if changes:
        marker.save(update_fields=list(changes))
    return marker


def marker_delete(*, marker: Marker) -> None:
    """Delete a scene; the samples are not touched (scenes only group media time in reports)."""
    marker.delete()
