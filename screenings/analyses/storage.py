"""An analysis's files: checking uploads and their limits, safe file names, removing a job's folder."""

from __future__ import annotations

import os
import re
import shutil
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile

if TYPE_CHECKING:
    from inference import ArchiveLimits


class UploadRefused(ValueError):
    """An upload breaks a limit or a rule; the message says which, for the organizer."""


def limit_bytes(megabytes: int) -> int:
    return megabytes * 1024 * 1024


def check_size(upload: UploadedFile, *, megabytes: int) -> None:
    if upload.size is None or upload.size == 0:
        raise UploadRefused(f"{upload.name} is empty.")
    if upload.size > limit_bytes(megabytes):
        raise UploadRefused(f"{upload.name} is larger than the limit of {megabytes} MB.")


def labelled_limits() -> ArchiveLimits:
    """What a zip of labelled faces may hold, from the settings (README, "Configuration")."""
    from inference import ArchiveLimits

    return ArchiveLimits(
        max_images=settings.ANALYSIS_MAX_LABELLED_IMAGES,
        max_unpacked_bytes=limit_bytes(settings.ANALYSIS_MAX_LABELLED_MEGABYTES),
        max_image_bytes=limit_bytes(settings.ANALYSIS_MAX_IMAGE_MEGABYTES),
    )


def safe_name(name: str) -> str:
    base = os.path.basename(name or "upload")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return cleaned[:100]


def remove_folder(folder: str) -> None:
    shutil.rmtree(default_storage.path(folder), ignore_errors=True)
