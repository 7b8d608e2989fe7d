"""The organizers' login, limited per username and client address so that passwords cannot be guessed.

Every attempt (right or wrong) counts in the cache (``screenings.web.throttle``): at most
ADMIN_LOGIN_ATTEMPTS per username and address in each ADMIN_LOGIN_WINDOW_SECONDS. Past that even
the right password is refused, with a message saying when to try again, and the page answers 429.
Another address, or another username, is not held up.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse

from screenings.web.throttle import client_address, throttle_allows

TOO_MANY_ATTEMPTS = "too_many_attempts"


def login_attempt_allowed(request: HttpRequest, username: str) -> bool:
    """Count one login attempt for this username from this address; False once there were too many."""
    key = f"admin-login:{client_address(request)}:{username.casefold()}"
    return throttle_allows(key, limit=settings.ADMIN_LOGIN_ATTEMPTS, window=settings.ADMIN_LOGIN_WINDOW_SECONDS)


def minutes_until_next_window(*, now: float | None = None) -> int:
    window = settings.ADMIN_LOGIN_WINDOW_SECONDS
    now = time.time() if now is None else now
    return max(1, math.ceil((window - now % window) / 60))


class OrganizerLoginForm(AdminAuthenticationForm):
    """The admin's login form, which refuses an attempt past the limit before checking the password."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if self.request is not None and not login_attempt_allowed(self.request, username):
            minutes = minutes_until_next_window()
            raise ValidationError(
                f"Too many login attempts for this username from your address. Try again in {minutes} minute(s).",
                code=TOO_MANY_ATTEMPTS,
            )
        return super().clean()


def organizer_login(request: HttpRequest) -> HttpResponse:
    """The admin's own login page (with ``OrganizerLoginForm``), answering 429 when an attempt was refused."""
    response = admin.site.login(request)
    form = getattr(response, "context_data", None) and response.context_data.get("form")
    if form is not None and form.has_error(NON_FIELD_ERRORS, code=TOO_MANY_ATTEMPTS):
        response.status_code = 429
    return response
