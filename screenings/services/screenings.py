"""A screening's own changes: saving, opening and closing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inference import InvalidVideo, video_duration
from screenings.models import Screening
from screenings.rules.errors import DataProtected, StudyError
from screenings.selectors import screening_is_deletable

logger = logging.getLogger(__name__)


def screening_open(*, screening: Screening) -> Screening:
    """Open a screening to participants; it needs a stimulus and a consent text."""
    if not screening.has_stimulus:
        raise StudyError("A screening needs a stimulus video before it can open.")
    if not screening.consent_text.strip():
        raise StudyError("A screening needs a consent text before it can open.")
    screening.status = Screening.Status.OPEN
    screening.opened_at = screening.opened_at or timezone.now()
    screening.closed_at = None
    screening.save(update_fields=["status", "opened_at", "closed_at", "updated_at"])
    return screening


def screening_close(*, screening: Screening) -> Screening:
    """Close a screening: no one can join or continue; everything recorded stays."""
    screening.status = Screening.Status.CLOSED
    screening.closed_at = timezone.now()
    screening.save(update_fields=["status", "closed_at", "updated_at"])
    return screening


def stimulus_duration_read(*, path: str) -> float | None:
    """A stimulus file's duration in seconds by the engine's one rule (``inference.video_duration``), or None
    when the file states none or cannot be read."""
    try:
        return video_duration(Path(path))
    except InvalidVideo as error:
        logger.warning("could not read the duration of %s: %s", path, error.reason)
    return None


def screening_save(*, screening: Screening) -> Screening:
    """Save a screening; an uploaded stimulus without a known duration gets one read from the file."""
    with transaction.atomic():
        screening.save()
    if screening.stimulus and screening.stimulus_duration is None:
        duration = stimulus_duration_read(path=screening.stimulus.path)
        if duration is not None:
            screening.stimulus_duration = duration
            screening.save(update_fields=["stimulus_duration"])
    return screening


def screening_create(*, owner: AbstractBaseUser, **fields: Any) -> Screening:
    """Create a screening owned by ``owner`` (a draft until it is opened)."""
    return screening_save(screening=Screening(owner=owner, **fields))


def screening_update(*, screening: Screening, **changes: Any) -> Screening:
    """Change the given fields of a screening."""
    for field, value in changes.items():
        setattr(screening, field, value)
    return screening_save(screening=screening)


def screening_delete(*, screening: Screening) -> None:
    """Delete a draft screening that nobody has joined; any other is closed instead, keeping its data."""
    if not screening_is_deletable(screening=screening):
        raise DataProtected("Only a draft screening without participants can be deleted; close it instead.")
    screening.delete()
