"""The organizer's API token page: see whether one exists, create a new one, or revoke it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from screenings import selectors, services


@staff_member_required
@require_http_methods(["GET", "POST"])
def api_token_page(request: HttpRequest) -> HttpResponse:
    """GET shows whether the organizer has a token; POST ``action=create`` shows a new one once, ``revoke`` ends it."""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            token = services.api_token_create(user=request.user)
            # Shown on this response only: the page never displays a stored token again.
            return render(request, "screenings/organizer/api_token.html", {"new_token": token.key, "has_token": True})
        if action == "revoke":
            if services.api_token_revoke(user=request.user):
                messages.success(request, "Your API token was revoked; requests with it are now refused.")
            return redirect("organizer-api-token")
        messages.error(request, "Choose to create or to revoke a token.")
        return redirect("organizer-api-token")
    return render(
        request, "screenings/organizer/api_token.html", {"has_token": selectors.api_token_exists(user=request.user)}
    )
