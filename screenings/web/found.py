"""The one way interfaces turn a selector's "not found" (None) into a 404."""

from __future__ import annotations

from typing import TypeVar

from django.http import Http404

Found = TypeVar("Found")


def or_404(found: Found | None, message: str = "Not found.") -> Found:
    """``found``, or a 404 when the selector found nothing (or nothing this user may see)."""
    if found is None:
        raise Http404(message)
    return found
