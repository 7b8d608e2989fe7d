"""The media analysis API: upload images, a video, a participant's recording or labelled faces; follow, cancel,
download."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.files import File
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screenings import selectors
from screenings.analyses import jobs, storage
from screenings.api import serializers
from screenings.models import MediaAnalysis
from screenings.web.files import ranged_file_response
from screenings.web.found import or_404

QUEUED = OpenApiResponse(serializers.MediaAnalysisSerializer, description="Stored and queued.")
REFUSED = OpenApiResponse(description="A field is invalid or a size limit is exceeded.")


def _queued(request: Request, create: Callable[..., MediaAnalysis], **fields: Any) -> Response:
    """Queue the analysis of a validated upload: 202 with the job, or 400 with the reason it was refused."""
    try:
        analysis = create(owner=request.user, **fields)
    except storage.UploadRefused as error:
        raise ValidationError({"detail": str(error)}) from None
    data = serializers.MediaAnalysisSerializer(analysis, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED)


class MediaAnalysisViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The organizer's media analyses, newest first. Uploads are queued and answered with 202."""

    serializer_class = serializers.MediaAnalysisSerializer

    def get_queryset(self) -> QuerySet[MediaAnalysis]:
        return MediaAnalysis.objects.for_organizer(self.request.user)

    def get_format_suffix(self, **kwargs: Any) -> str | None:
        # A result file's extension (files/summary.json) is part of its name, not a choice of renderer.
        return None if self.action == "files" else super().get_format_suffix(**kwargs)

    def perform_destroy(self, instance: MediaAnalysis) -> None:
        jobs.analysis_delete(analysis=instance)

    @extend_schema(
        request={"multipart/form-data": serializers.ImagesUploadSerializer}, responses={202: QUEUED, 400: REFUSED}
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def images(self, request: Request) -> Response:
        """Analyse images: every face found, classified and drawn on an annotated PNG."""
        upload = serializers.ImagesUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        return _queued(request, jobs.analysis_create_images, **upload.validated_data)

    @extend_schema(
        request={"multipart/form-data": serializers.VideoUploadSerializer}, responses={202: QUEUED, 400: REFUSED}
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def video(self, request: Request) -> Response:
        """Analyse a video sampled every ``interval`` seconds: timeline CSVs, plot and annotated H.264 video."""
        upload = serializers.VideoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        return _queued(request, jobs.analysis_create_video, **upload.validated_data)

    @extend_schema(
        request={"multipart/form-data": serializers.LabelledUploadSerializer}, responses={202: QUEUED, 400: REFUSED}
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def labelled(self, request: Request) -> Response:
        """Evaluate the served model on a zip of labelled faces: accuracy, per-emotion precision, recall and F1,
        and the confusion matrix. A zip that is not one, has no emotion folders, holds too many images or looks like
        a zip bomb is refused with 400 and nothing is stored."""
        upload = serializers.LabelledUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        return _queued(request, jobs.analysis_create_labelled, **upload.validated_data)

    @extend_schema(request=None, responses=serializers.MediaAnalysisSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a queued analysis, or stop a running one at its next step; a finished one stays as it is."""
        analysis = jobs.analysis_cancel(analysis=self.get_object())
        return Response(self.get_serializer(analysis).data)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: None})
    @action(detail=True, methods=["get"], url_path=r"files/(?P<name>[^/]+)", url_name="file")
    def files(self, request: Request, pk: str | None = None, name: str = "", format: str | None = None) -> HttpResponse:
        """One result file of a finished analysis, with range requests."""
        # Without the trailing slash the router's format-suffix route takes the extension off the name.
        if format:
            name = f"{name}.{format}"
        path = selectors.analysis_output_path(self.get_object(), name)
        if path is None:
            raise Http404("No such result file.")
        return ranged_file_response(request, File(path.open("rb"), name=str(path)))


class RecordingUploadView(APIView):
    """Attach a participant's recorded video to a screening; its samples join the participant's timeline."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": serializers.RecordingUploadSerializer}, responses={202: QUEUED, 400: REFUSED}
    )
    def post(self, request: Request, screening_pk: int) -> Response:
        screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_pk))
        upload = serializers.RecordingUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        fields = dict(upload.validated_data)
        participant_id = fields.pop("participant", None)
        participant = (
            None
            if participant_id is None
            else or_404(selectors.participant_in_screening(screening=screening, pk=participant_id))
        )
        return _queued(
            request,
            jobs.analysis_create_recording,
            screening=screening,
            participant=participant,
            **fields,
        )
