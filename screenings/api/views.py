"""The organizer REST API: thin views that check the organizer, call a service or selector, and serialize."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from screenings import selectors, services
from screenings.api import serializers
from screenings.api.throttles import InviteRateThrottle
from screenings.models import Answer, Participant, Question, Scene, Screening, Segment
from screenings.reports.builder import screening_report
from screenings.reports.options import ReportOptions, ReportOptionsForm
from screenings.web.downloads import export_response
from screenings.web.files import stored_file_response
from screenings.web.found import or_404


class ScreeningViewSet(viewsets.ModelViewSet):
    """The organizer's screenings. Status changes through the open and close actions."""

    serializer_class = serializers.ScreeningSerializer

    def get_queryset(self) -> QuerySet[Screening]:
        return (
            selectors.screenings_for_organizer(user=self.request.user)
            .select_related("owner")
            .prefetch_related("collaborators")
        )

    def perform_create(self, serializer: serializers.ScreeningSerializer) -> None:
        screening = services.screening_create(owner=self.request.user, **serializer.validated_data)
        # Read it back through the selector, so the response carries the counts like every other one.
        serializer.instance = self.get_queryset().get(pk=screening.pk)

    def perform_update(self, serializer: serializers.ScreeningSerializer) -> None:
        serializer.instance = services.screening_update(screening=serializer.instance, **serializer.validated_data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confirm",
                str,
                description="The screening's slug, to confirm deleting a screening that participants have joined "
                "together with their answers, samples and kept frames.",
            )
        ],
        responses={
            204: None,
            409: OpenApiResponse(description="Participants have joined: what would be destroyed, and how to confirm."),
        },
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        screening = self.get_object()
        services.screening_delete(screening=screening, confirmed=request.query_params.get("confirm") == screening.slug)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            200: serializers.ScreeningSerializer,
            400: OpenApiResponse(description="The screening lacks a stimulus or a consent text."),
        },
    )
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: str | None = None) -> Response:
        screening = services.screening_open(screening=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=screening.pk)).data)

    @extend_schema(request=None, responses=serializers.ScreeningSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        screening = services.screening_close(screening=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=screening.pk)).data)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="Not the organizer's screening, or it has no uploaded stimulus."),
        }
    )
    @action(detail=True, methods=["get"])
    def stimulus(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The uploaded stimulus video, with range requests (the address the screening's ``stimulus`` gives)."""
        stimulus = self.get_object().stimulus
        return stored_file_response(request, stimulus, missing="This screening has no uploaded stimulus file.")


class ScreeningScopedMixin:
    """Nested resources: the screening in the URL must be the organizer's, or everything below it is 404."""

    request: Request
    kwargs: dict[str, Any]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Resolve the screening before any input is validated: someone else's screening answers 404, never a 400
        # whose field messages would show that it exists.
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.get_screening()

    def get_screening(self) -> Screening:
        if not hasattr(self, "_screening"):
            self._screening = or_404(
                selectors.screening_for_organizer(user=self.request.user, pk=self.kwargs["screening_pk"])
            )
        return self._screening


class QuestionViewSet(ScreeningScopedMixin, viewsets.ModelViewSet):
    serializer_class = serializers.QuestionSerializer
    queryset = Question.objects.none()  # tells the schema the id's type; requests use get_queryset

    def get_queryset(self) -> QuerySet[Question]:
        return self.get_screening().questions.all()

    def perform_create(self, serializer: serializers.QuestionSerializer) -> None:
        serializer.instance = services.question_create(screening=self.get_screening(), **serializer.validated_data)

    def perform_update(self, serializer: serializers.QuestionSerializer) -> None:
        serializer.instance = services.question_update(question=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Question) -> None:
        services.question_delete(question=instance)


class SceneViewSet(ScreeningScopedMixin, viewsets.ModelViewSet):
    serializer_class = serializers.SceneSerializer
    queryset = Scene.objects.none()

    def get_queryset(self) -> QuerySet[Scene]:
        return self.get_screening().scenes.all()

    def perform_create(self, serializer: serializers.SceneSerializer) -> None:
        serializer.instance = services.scene_create(screening=self.get_screening(), **serializer.validated_data)

    def perform_update(self, serializer: serializers.SceneSerializer) -> None:
        serializer.instance = services.scene_update(scene=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Scene) -> None:
        services.scene_delete(scene=instance)


class SegmentViewSet(ScreeningScopedMixin, viewsets.ModelViewSet):
    """Segments of a screening's audience, by name and rules; a report or download takes one as ?segment=<id>."""

    serializer_class = serializers.SegmentSerializer
    queryset = Segment.objects.none()
    # A segment is changed a field at a time (PATCH); there is no whole replacement.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Segment]:
        return self.get_screening().segments.all()

    def perform_create(self, serializer: serializers.SegmentSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.segment_create(
            screening=self.get_screening(), name=data["name"], rules=data.get("rules", [])
        )

    def perform_update(self, serializer: serializers.SegmentSerializer) -> None:
        serializer.instance = services.segment_update(segment=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Segment) -> None:
        services.segment_delete(segment=instance)


class ParticipantViewSet(
    ScreeningScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Participants of a screening; POST creates personal invite links."""

    serializer_class = serializers.ParticipantSerializer
    queryset = Participant.objects.none()

    def get_throttles(self) -> list[BaseThrottle]:
        # Every request's rate, and creating invites (up to 1,000 each) a stricter one of its own.
        return [*super().get_throttles(), InviteRateThrottle()]

    @property
    def pagination_class(self) -> type[BasePagination] | None:  # type: ignore[override]
        # The invites a POST creates come back whole, not as a page; the schema is built from this too.
        return None if self.action == "create" else api_settings.DEFAULT_PAGINATION_CLASS

    def get_queryset(self) -> QuerySet[Participant]:
        return selectors.participants_for_organizer(user=self.request.user).filter(screening=self.get_screening())

    @extend_schema(
        request=serializers.InviteRequestSerializer, responses={201: serializers.ParticipantSerializer(many=True)}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invite = serializers.InviteRequestSerializer(data=request.data)
        invite.is_valid(raise_exception=True)
        created = services.invites_create(screening=self.get_screening(), **invite.validated_data)
        participants = self.get_queryset().filter(pk__in=[p.pk for p in created])
        return Response(self.get_serializer(participants, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.ParticipantSerializer)
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        participant = services.participant_erase(participant=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=participant.pk)).data)


@extend_schema_view(list=extend_schema(parameters=[serializers.AnswerFilterSerializer]))
class AnswerViewSet(ScreeningScopedMixin, viewsets.ReadOnlyModelViewSet):
    """The answers given to a screening's questions; the list filters by ?phase= and ?participant=."""

    serializer_class = serializers.AnswerSerializer
    queryset = Answer.objects.none()

    def get_queryset(self) -> QuerySet[Answer]:
        answers = Answer.objects.filter(participant__screening=self.get_screening()).select_related(
            "participant", "question"
        )
        if self.action == "list":
            filters = serializers.AnswerFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            if "phase" in filters.validated_data:
                answers = answers.filter(phase=filters.validated_data["phase"])
            if "participant" in filters.validated_data:
                answers = answers.filter(participant_id=filters.validated_data["participant"])
        return answers.order_by("participant_id", "phase", "question__order", "question_id")


REPORT_OPTION_PARAMETERS = [
    OpenApiParameter(
        "bin", float, description="time bin in seconds: the sampling interval (the default) or a whole multiple of it"
    ),
    OpenApiParameter("smoothing", int, description="moving average over this many bins (1-31)"),
    OpenApiParameter(
        "threshold", float, description="percentage of frames with a face (0-100) below which a participant is flagged"
    ),
    OpenApiParameter(
        "segment", int, description="only this segment's participants (the id of one of the screening's segments)"
    ),
]


def _report_options(request: Request, screening: Screening) -> ReportOptions:
    form = ReportOptionsForm(request.query_params, screening=screening)
    if not form.is_valid():
        raise ValidationError(form.errors)
    return form.options()


class ReportView(ScreeningScopedMixin, APIView):
    """The combined report as JSON: funnel, quality, timeline, summaries, top moments, before/after.

    With ``?segment=<id>`` every figure counts only that segment's participants (``segment`` says which).
    """

    @extend_schema(parameters=REPORT_OPTION_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="screenings_report")
    def get(self, request: Request, screening_pk: int) -> Response:
        screening = self.get_screening()
        return Response(screening_report(screening, **_report_options(request, screening).report_arguments()))


class ReportDownloadView(ScreeningScopedMixin, APIView):
    """A report download: samples-csv, samples-parquet, participants-csv, xlsx or pdf, with the report's options."""

    @extend_schema(
        parameters=REPORT_OPTION_PARAMETERS,
        operation_id="screenings_report_download",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, screening_pk: int, identifier: str) -> HttpResponse:
        screening = self.get_screening()
        return export_response(screening, identifier, _report_options(request, screening))
