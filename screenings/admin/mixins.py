"""What every organizer admin page shares: any organizer may use it, and reaches only their own rows."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import escape

from screenings.models import (
    Participant,
    Question,
    Screening,
)


def organizer_choices() -> QuerySet:
    """The users who can run screenings: active staff."""
    return get_user_model().objects.filter(is_staff=True, is_active=True)


def scoped_choices(model: type[Model], user: Any) -> QuerySet | None:
    """What an organizer may pick in a foreign key to ``model``; None where the admin's default is already safe."""
    if model is Screening:
        return Screening.objects.for_organizer(user)
    if model is Participant:
        return Participant.objects.for_organizer(user)
    if model is Question:
        return Question.objects.filter(screening__in=Screening.objects.for_organizer(user))
    if model is get_user_model():
        return organizer_choices()
    return None


class OrganizerPermissionsMixin:
    """Any active staff user may use these pages; which rows they reach is decided by ``get_queryset``.

    Foreign-key choices are scoped the same way, so no form can point at another organizer's screening.
    """

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.help_text and "help_text" not in kwargs:
            # The admin shows help texts as HTML; ours are plain text (the slug's names /s/<slug>/join/).
            kwargs["help_text"] = escape(db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        choices = scoped_choices(db_field.related_model, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def _is_organizer(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_organizer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._is_organizer(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request)


class OrganizerAccessMixin(OrganizerPermissionsMixin):
    """Organizer permissions, and a 404 for the change, delete and history pages of an object out of reach."""

    def _refuse_unless_visible(self, request: HttpRequest, object_id: str | None) -> None:
        # The admin's own answer to a hidden object is a redirect with a message; ours is a plain 404.
        if object_id is not None and self.get_object(request, unquote(object_id)) is None:  # type: ignore[attr-defined]
            raise Http404("No such object.")

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return super().change_view(request, object_id, *args, **kwargs)  # type: ignore[misc]

    def delete_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return super().delete_view(request, object_id, *args, **kwargs)  # type: ignore[misc]

    def history_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return super().history_view(request, object_id, *args, **kwargs)  # type: ignore[misc]


class ReadOnlyMixin:
    """Answers and samples are written by participants only; organizers read them (and erase through the action)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
