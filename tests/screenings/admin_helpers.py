"""Addresses, form data and action requests for the admin tests."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse


def admin_url(obj: Model, view: str = "change") -> str:
    """The change, history or delete page of one object."""
    return reverse(f"admin:screenings_{obj._meta.model_name}_{view}", args=[obj.pk])


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:screenings_{model._meta.model_name}_changelist")


def run_action(client: Client, model: type[Model], action: str, objects: list[Model], **extra: Any) -> HttpResponse:
    """Choose ``objects`` on the model's list and run ``action`` on them, as the action bar does."""
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(changelist_url(model), data)


def messages_shown(response: HttpResponse) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


def screening_form(**changes: Any) -> dict[str, Any]:
    """A complete, valid POST for the screening add or change page, with no questions, scenes or segments."""
    data = {
        "title": "New ad",
        "slug": "new-ad",
        "description": "",
        "stimulus_url": "",
        "stimulus_duration": "",
        "sampling_interval": "1",
        "capture_source": "webcam",
        "consent_text": "Your webcam reads your expressions.",
        "participant_quota": "",
        "completion_redirect_url": "",
        # Ticked on a new screening's page, as its default is.
        "require_face_check": "on",
        "questions-TOTAL_FORMS": "0",
        "questions-INITIAL_FORMS": "0",
        "scenes-TOTAL_FORMS": "0",
        "scenes-INITIAL_FORMS": "0",
        "segments-TOTAL_FORMS": "0",
        "segments-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data
