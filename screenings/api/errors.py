"""The API's one mapping from the study's errors to HTTP: rules broken 400, collected data protected 409.

Selectors return None for what an organizer may not see; the views turn that into 404.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from screenings.rules.errors import DataProtected, StudyError
from screenings.services.questions import AnsweredQuestionChange
from screenings.services.screenings import DeletionNotConfirmed


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after translating the services' errors."""
    if isinstance(exc, DeletionNotConfirmed):
        body = {"detail": str(exc), "destroys": asdict(exc.summary), "confirm": "?confirm=<the screening's slug>"}
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, AnsweredQuestionChange):
        exc = Conflict(detail={"detail": str(exc), **exc.refusals})
    elif isinstance(exc, DataProtected):
        exc = Conflict(detail=str(exc))
    elif isinstance(exc, StudyError):
        exc = ValidationError({"detail": str(exc)})
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    return drf_exception_handler(exc, context)
