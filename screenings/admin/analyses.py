"""Media analyses in the admin's menu; their pages live outside the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from screenings.admin.mixins import OrganizerAccessMixin, ReadOnlyMixin
from screenings.models import (
    MediaAnalysis,
)


@admin.register(MediaAnalysis)
class MediaAnalysisAdmin(ReadOnlyMixin, OrganizerAccessMixin, admin.ModelAdmin):
    """Media analyses appear in the admin's menu; uploads, progress and results live on their own pages."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[MediaAnalysis]:
        return MediaAnalysis.objects.for_organizer(request.user)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("organizer-analyses"))

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return HttpResponseRedirect(reverse("organizer-analysis", args=[unquote(object_id)]))
