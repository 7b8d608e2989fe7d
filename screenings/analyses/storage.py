"""An analysis's files: checking uploads, safe file names, removing a job's folder."""

from __future__ import annotations

import os
import re
import shutil

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile


class UploadRefused(ValueError):
    """An upload breaks a limit or a rule; the message says which, for the organizer."""


def limit_bytes(megabytes: int) -> int:
    return megabytes * 1024 * 1024


def check_size(upload: UploadedFile, *, megabytes: int) -> None:
    if upload.size is None or upload.size == 0:
        raise UploadRefused(f"{upload.name} is empty.")
    if upload.size > limit_bytes(megabytes):
        raise UploadRefused(f"{upload.name} is larger than the limit of {megabytes} MB.")


def safe_name(name: str) -> str:
    base = os.path.basename(name or "upload")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return cleaned[:100]


def remove_folder(folder: str) -> None:
    shutil.rmtree(default_storage.path(folder), ignore_errors=True)
