"""The API's request rates, per organizer: one for every request, a stricter one for creating invites.

The counts live in Django's cache, so with the Redis cache of the scale-out profile they hold across
processes. The rates are read from the settings on every request (REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES, from API_RATE and API_INVITE_RATE), not once at import.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class OrganizerRateThrottle(UserRateThrottle):
    """Every API request of one organizer (keyed by their id), at ``API_RATE``."""

    scope = "organizer"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class InviteRateThrottle(OrganizerRateThrottle):
    """Requests that create invites (up to MAX_INVITES_PER_REQUEST each), at ``API_INVITE_RATE``."""

    scope = "invites"

    def allow_request(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", None) != "create":
            return True
        return super().allow_request(request, view)
