"""Absolute links to hand out: from PUBLIC_BASE_URL when set, else from the address the organizer is using."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from screenings.models import Participant, Screening


def absolute_url(path: str, *, request: HttpRequest | None) -> str:
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def open_link_url(screening: Screening, *, request: HttpRequest | None) -> str:
    return absolute_url(reverse("screening-join", args=[screening.slug]), request=request)


def participant_link_url(participant: Participant, *, request: HttpRequest | None) -> str:
    return absolute_url(reverse("participant-entry", args=[participant.token]), request=request)


def stimulus_preview_url(screening: Screening, *, request: HttpRequest | None) -> str:
    """Where a screening's organizers get its uploaded stimulus (the media folder itself is not served)."""
    return absolute_url(reverse("organizer-stimulus", args=[screening.pk]), request=request)
