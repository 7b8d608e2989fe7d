"""The segments of a screening's audience: created, changed and deleted here only, whichever page or API asks.

A segment only groups participants for reports: no change to it touches an answer or a sample.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from screenings.models import Screening, Segment
from screenings.rules.segments import check_segment_rules
from screenings.selectors.segments import questions_by_id

MAX_SEGMENTS_PER_SCREENING = 50


def segment_fields_checked(*, screening: Screening, segment: Segment | None = None, **fields: Any) -> dict[str, Any]:
    """``fields`` (name, rules) checked for ``screening``, the rules normalised; raises ValidationError per field.

    ``segment`` is the one being changed, whose own name is not taken.
    """
    checked: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "name" in fields:
        try:
            checked["name"] = _name_checked(screening, fields["name"], segment)
        except ValidationError as error:
            errors["name"] = error.messages
    if "rules" in fields:
        try:
            checked["rules"] = check_segment_rules(fields["rules"], questions=questions_by_id(screening))
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return checked


def _name_checked(screening: Screening, name: Any, segment: Segment | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("A segment needs a name.")
    name = name.strip()
    if len(name) > Segment._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationError("A segment's name has at most 100 characters.")
    others = screening.segments.exclude(pk=segment.pk) if segment is not None else screening.segments.all()
    if others.filter(name=name).exists():
        raise ValidationError(f"This screening already has a segment named “{name}”.")
    return name


@transaction.atomic
def segment_create(*, screening: Screening, name: str, rules: Any) -> Segment:
    """Save a new segment of ``screening``; its name is unique within the screening."""
    if screening.segments.count() >= MAX_SEGMENTS_PER_SCREENING:
        raise ValidationError({"name": [f"A screening has at most {MAX_SEGMENTS_PER_SCREENING} segments."]})
    checked = segment_fields_checked(screening=screening, name=name, rules=rules)
    return _saved(Segment(screening=screening, **checked))


@transaction.atomic
def segment_update(*, segment: Segment, **changes: Any) -> Segment:
    """Change a segment's name or rules (or both), checked as when it was created; nothing is saved on an error."""
    checked = segment_fields_checked(screening=segment.screening, segment=segment, **changes)
    for field, value in checked.items():
        setattr(segment, field, value)
    return _saved(segment, update_fields=list(checked)) if checked else segment


def _saved(segment: Segment, *, update_fields: list[str] | None = None) -> Segment:
    try:
        # A savepoint: two requests naming a segment alike at once leave one of them refused, not a broken transaction.
        with transaction.atomic():
            segment.save(update_fields=update_fields)
    except IntegrityError:
        raise ValidationError({"name": [f"This screening already has a segment named “{segment.name}”."]}) from None
    return segment


def segment_delete(*, segment: Segment) -> None:
    """Delete a segment; the participants, answers and samples it grouped are not touched."""
    segment.delete()
