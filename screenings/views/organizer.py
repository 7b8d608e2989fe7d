"""Pages for organizers outside the admin: the live view of a running screening, and its stimulus."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from screenings import selectors
from screenings.web.client import live_client_config
from screenings.web.files import stored_file_response
from screenings.web.found import or_404


@staff_member_required
def live_view(request: HttpRequest, screening_id: int) -> HttpResponse:
    """Who is connected, each participant's latest emotion, and the audience's running mean, updated live."""
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    return render(
        request,
        "screenings/organizer/live.html",
        {"screening": screening, "live_state": live_client_config(screening)},
    )


@staff_member_required
@require_GET
def stimulus(request: HttpRequest, screening_id: int) -> HttpResponse:
    """The screening's uploaded stimulus, for its organizers to preview (range requests, so it seeks)."""
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    return stored_file_response(request, screening.stimulus, missing="This screening has no uploaded stimulus file.")
