"""Data in the stack's own database, made and read through the project's code in ``manage.py shell``
(``Stack.call``): each function takes and returns JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

PASSWORD = "correct horse battery staple"


def site_audience(viewers: int, interval: str, label: str) -> dict[str, Any]:
    """An organizer (with an API token), an open screening and ``viewers`` participants who are watching;
    ``label`` names them and must be new to the database."""
    from rest_framework.authtoken.models import Token

    from screenings.models import Participant
    from tests.factories import OrganizerFactory, ParticipantFactory, ScreeningFactory

    organizer = OrganizerFactory(username=f"organizer-{label}")
    # Each call is a new process, whose factory sequences start again: the label keeps names apart.
    screening = ScreeningFactory(
        owner=organizer, slug=label, title=f"Screening {label}", sampling_interval=Decimal(interval),
        stimulus_duration=600.0,
    )  # fmt: skip
    participants = [
        ParticipantFactory(screening=screening, state=Participant.State.WATCHING, external_id=f"{label}-{index}")
        for index in range(viewers)
    ]
    return {
        "screening": screening.pk,
        "username": organizer.username,
        "password": PASSWORD,
        "api_token": Token.objects.create(user=organizer).key,
        "tokens": [participant.token for participant in participants],
        "participants": [participant.pk for participant in participants],
    }


def site_capture_channels(participants: list[int]) -> dict[str, str]:
    """Each participant's live capture connection as its web process named it (Redis channel names
    begin with the process's own prefix); empty when none is recorded."""
    from screenings.models import Participant

    rows = Participant.objects.filter(pk__in=participants).values_list("pk", "capture_channel")
    return {str(pk): channel for pk, channel in rows}


def site_demo_outcome(token: str) -> dict[str, Any]:
    """The demo participant's state and stored samples."""
    from screenings.models import EmotionSample, Participant

    participant = Participant.objects.get(token=token)
    samples = EmotionSample.objects.filter(participant=participant).order_by("media_time")
    return {
        "state": participant.state,
        "media_times": list(samples.values_list("media_time", flat=True)),
        "faces": samples.filter(face_found=True).count(),
    }
