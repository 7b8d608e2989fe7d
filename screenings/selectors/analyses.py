"""Reads about media analyses: which an organizer may see, and the files of a finished one."""

from __future__ import annotations

from pathlib import Path

from django.core.files.storage import default_storage

from screenings.models import MediaAnalysis
from screenings.selectors.screenings import User

Status = MediaAnalysis.Status


def analysis_for_organizer(*, user: User, pk: int) -> MediaAnalysis | None:
    """The media analysis with this id if the user made it; otherwise a 404."""
    return MediaAnalysis.objects.for_organizer(user).filter(pk=pk).first()


def analysis_output_path(analysis: MediaAnalysis, name: str) -> Path | None:
    """The file of a finished analysis's result ``name``; None unless it is one of its outputs."""
    if analysis.status != Status.SUCCEEDED or name not in {item["name"] for item in analysis.outputs}:
        return None
    path = Path(default_storage.path(f"{analysis.results_folder}/{name}"))
    return path if path.is_file() else None
