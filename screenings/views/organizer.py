"""Pages for organizers outside the admin: the live view of a running screening."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inference.labels import EMOTIONS
from screenings import selectors


@staff_member_required
def live_view(request: HttpRequest, screening_id: int) -> HttpResponse:
    """Who is connected, each participant's latest emotion, and the audience's running mean, updated live."""
    screening = selectors.screening_for_organizer(user=request.user, pk=screening_id)
    return render(
        request,
        "screenings/organizer/live.html",
        {
            "screening": screening,
            "live_state": {
                "socketPath": f"/ws/live/{screening.pk}/",
                "emotions": list(EMOTIONS),
                "interval": float(screening.sampling_interval),
                "duration": screening.stimulus_duration,
                "participants": selectors.live_participants(screening=screening),
                "timeline": selectors.audience_running_mean(screening=screening),
            },
        },
    )
