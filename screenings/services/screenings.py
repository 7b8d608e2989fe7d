"""A screening's own changes: saving, opening and closing."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from inference import InvalidVideo, video_duration
from screenings.models import Answer, Screening
from screenings.rules.errors import DataProtected, StudyError
from screenings.services.participants import stored_files_delete

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
    """Change the given fields of a screening, under the model's rules (``Screening.clean``: once opened, its
    links and its stimulus stay as they were sent)."""
    for field, value in changes.items():
        setattr(screening, field, value)
    screening.clean()
    return screening_save(screening=screening)


@dataclass(frozen=True)
class DeletionSummary:
    """What deleting a screening destroys."""

    participants: int
    answers: int
    samples: int
    kept_frames: int

    def __str__(self) -> str:
        return (
            f"{self.participants} participant(s) with {self.answers} answer(s), {self.samples} emotion sample(s) "
            f"and {self.kept_frames} kept webcam frame(s)"
        )


class DeletionNotConfirmed(DataProtected):
    """A screening with participants is deleted only once the organizer has confirmed what it destroys."""

    def __init__(self, summary: DeletionSummary) -> None:
        super().__init__(
            f"Deleting this screening destroys {summary}. This cannot be undone: confirm to delete, "
            "or close the screening instead to keep its data."
        )
        self.summary = summary


def screening_is_deletable(*, screening: Screening) -> bool:
    """Whether the screening may be deleted at all (with confirmation if participants joined): not while open."""
    return screening.status != Screening.Status.OPEN


def screening_deletion_summary(*, screening: Screening) -> DeletionSummary:
    """What deleting ``screening`` would destroy, counted now."""
    return DeletionSummary(
        participants=screening.participants.count(),
        answers=Answer.objects.filter(participant__screening=screening).count(),
        samples=screening.samples.count(),
        kept_frames=screening.samples.exclude(frame="").count(),
    )


def screening_delete(*, screening: Screening, confirmed: bool = False) -> DeletionSummary:
    """Delete a screening with everything collected in it, and its stimulus and kept-frame files.

    An open screening is closed first (participants may be in the middle of it). One that
    participants have joined is deleted only when ``confirmed`` (the organizer was shown the
    ``DeletionSummary``, which the refusal names); returns what was destroyed.
    """
    with transaction.atomic():
        Screening.objects.select_for_update().filter(pk=screening.pk).exists()
        if not screening_is_deletable(screening=screening):
            raise DataProtected("An open screening cannot be deleted: close it first.")
        summary = screening_deletion_summary(screening=screening)
        if summary.participants and not confirmed:
            raise DeletionNotConfirmed(summary)
        files = list(screening.samples.exclude(frame="").values_list("frame", flat=True))
        if screening.stimulus:
            files.append(screening.stimulus.name)
        screening.delete()
        transaction.on_commit(lambda: stored_files_delete(files))
    return summary


HELD_UPLOADS = "stimuli/held"
HELD_UPLOAD_SALT = "screenings.held-stimulus"
HELD_UPLOAD_SECONDS = 24 * 3600


def stimulus_upload_hold(*, upload: File) -> str:
    """Keep a stimulus upload whose form had errors, so the organizer need not choose the file again.

    Returns a signed token naming the kept file (only this server can make one, so a form cannot
    point at any other stored file); ``stimulus_upload_held`` gives the file back.
    """
    name = default_storage.save(
        f"{HELD_UPLOADS}/{secrets.token_urlsafe(12)}/{Path(upload.name or 'stimulus').name}", upload
    )
    return signing.dumps(name, salt=HELD_UPLOAD_SALT)


def stimulus_upload_held(*, token: str) -> File | None:
    """The upload ``stimulus_upload_hold`` kept under ``token``; None for a bad, expired or spent token."""
    try:
        name = signing.loads(token, salt=HELD_UPLOAD_SALT, max_age=HELD_UPLOAD_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(name, str) or not name.startswith(f"{HELD_UPLOADS}/") or not default_storage.exists(name):
        return None
    return File(default_storage.open(name), name=Path(name).name)


def stimulus_upload_release(*, token: str) -> None:
    """Delete a held upload once the screening has stored its own copy."""
    try:
        name = signing.loads(token, salt=HELD_UPLOAD_SALT, max_age=HELD_UPLOAD_SECONDS)
    except signing.BadSignature:
        return
    if isinstance(name, str) and name.startswith(f"{HELD_UPLOADS}/"):
        default_storage.delete(name)
