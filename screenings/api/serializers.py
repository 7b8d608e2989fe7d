"""Serializers of the organizer API; validation reuses the models' and questionnaires' own checks."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inference import MINIMUM_INTERVAL
from screenings.analyses.progress import analysis_progress
from screenings.models import Answer, MediaAnalysis, Participant, Question, Scene, Screening, Segment
from screenings.rules.segments import EXAMPLE
from screenings.selectors.segments import segment_summary
from screenings.services import MAX_INVITES_PER_REQUEST
from screenings.web.links import open_link_url, participant_link_url

# The largest id a 64-bit primary key holds; a larger one would overflow the database driver.
MAX_DATABASE_ID = 2**63 - 1


def _run_model_clean(instance: Any) -> None:
    try:
        instance.clean()
    except DjangoValidationError as error:
        raise serializers.ValidationError(
            error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        ) from None


class StimulusField(serializers.FileField):
    """An uploaded stimulus: written as a file, read back as the API's address for it (the media folder is not
    served)."""

    def to_representation(self, value: Any) -> str | None:
        if not value:
            return None
        url = reverse("screening-stimulus", args=[value.instance.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ScreeningSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, models.FileField: StimulusField}
    owner = serializers.CharField(source="owner.username", read_only=True)
    collaborators = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    open_link = serializers.SerializerMethodField()
    invited_count = serializers.IntegerField(read_only=True)
    completed_count = serializers.IntegerField(read_only=True)
    sample_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Screening
        fields = [
            "id", "title", "slug", "description", "status", "stimulus", "stimulus_url", "stimulus_duration",
            "sampling_interval", "capture_source", "consent_text", "keep_raw_frames", "participant_quota",
            "completion_redirect_url", "owner", "collaborators", "open_link", "invited_count", "completed_count",
            "sample_count", "created_at", "updated_at", "opened_at", "closed_at",
        ]  # fmt: skip
        read_only_fields = ["status", "created_at", "updated_at", "opened_at", "closed_at"]
        # null removes an uploaded file, so a screening can switch from a file to a stimulus URL.
        extra_kwargs = {
            "stimulus": {
                "allow_null": True,
                "help_text": "Upload: the video participants watch, MP4, WebM or Ogg with a video track (null removes "
                "it; it cannot change once the screening has opened). Read: where organizers fetch it (range "
                "requests).",
            }
        }

    def get_open_link(self, screening: Screening) -> str:
        return open_link_url(screening, request=self.context.get("request"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = Screening(**{**self._current_values(), **attrs})
        _run_model_clean(candidate)
        return attrs

    def _current_values(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {"pk": self.instance.pk, "stimulus": self.instance.stimulus, "stimulus_url": self.instance.stimulus_url}


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = [
            "id", "phase", "kind", "text", "help_text", "choices", "min_value", "max_value", "low_label",
            "high_label", "required", "allow_prefer_not", "order", "retired",
        ]  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = {field: getattr(self.instance, field) for field in self.Meta.fields[1:]} if self.instance else {}
        _run_model_clean(Question(**{**current, **attrs}))
        return attrs


class SceneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scene
        fields = ["id", "start", "end", "label"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = {"start": self.instance.start, "end": self.instance.end} if self.instance else {}
        _run_model_clean(Scene(**{**current, **attrs}))
        return attrs


class SegmentSerializer(serializers.ModelSerializer):
    """A segment: its name and rules (checked by ``services.segment_create``/``segment_update``), and its size."""

    rules = serializers.JSONField(
        required=False,
        help_text=f"Rules every member meets, e.g. {EXAMPLE}: a question's choices (in) or range (min, max) with "
        'an optional phase ("before"/"after"), panel_id or label (lists), capture ("live" or "recording"), '
        "min_face_rate (0 to 1). Read back normalised, each question rule with its phase.",
    )
    described = serializers.SerializerMethodField()
    participants = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = ["id", "name", "rules", "described", "participants"]

    def _summary(self, segment: Segment) -> dict[str, Any]:
        # Both read-only fields come from one look-up of the members.
        cache = self.context.setdefault("segment_summaries", {})
        if segment.pk not in cache:
            cache[segment.pk] = segment_summary(segment)
        return cache[segment.pk]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_described(self, segment: Segment) -> list[str]:
        """Each rule in words."""
        return self._summary(segment)["described"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_participants(self, segment: Segment) -> int:
        """How many of the screening's participants meet every rule."""
        return self._summary(segment)["participants"]


class ParticipantSerializer(serializers.ModelSerializer):
    link = serializers.SerializerMethodField()
    sample_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Participant
        fields = [
            "id", "token", "link", "external_id", "label", "source", "state", "sample_count", "created_at",
            "consented_at", "before_done_at", "watch_started_at", "watched_at", "after_done_at", "completed_at",
            "declined_at", "withdrawn_at", "erased_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_link(self, participant: Participant) -> str:
        return participant_link_url(participant, request=self.context.get("request"))


class InviteRequestSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=MAX_INVITES_PER_REQUEST)
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AnswerFilterSerializer(serializers.Serializer):
    """The query parameters of the answers list; also describes them in the schema."""

    phase = serializers.ChoiceField(choices=Answer.Phase.choices, required=False, help_text="only this questionnaire")
    participant = serializers.IntegerField(
        min_value=1, max_value=MAX_DATABASE_ID, required=False, help_text="only this participant's answers"
    )


class AnswerSerializer(serializers.ModelSerializer):
    participant = serializers.IntegerField(source="participant_id", read_only=True)
    external_id = serializers.CharField(source="participant.external_id", read_only=True)
    question = serializers.IntegerField(source="question_id", read_only=True)
    question_text = serializers.CharField(source="question.text", read_only=True)
    value = serializers.JSONField(read_only=True)

    class Meta:
        model = Answer
        fields = ["id", "participant", "external_id", "question", "question_text", "phase", "value", "answered_at"]
        read_only_fields = fields


class MediaAnalysisSerializer(serializers.ModelSerializer):
    """An analysis as its job stands: status, progress, and when done the result and its files."""

    progress = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta:
        model = MediaAnalysis
        fields = [
            "id", "kind", "title", "status", "progress", "error", "message", "result", "files", "interval", "faces",
            "annotate_video", "detect_faces", "screening", "participant", "offset", "cancel_requested", "attempts",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, analysis: MediaAnalysis) -> dict[str, Any]:
        progress = analysis_progress(analysis)
        return {
            "percent": progress.percent,
            "elapsed_seconds": progress.elapsed_seconds,
            "remaining_seconds": progress.remaining_seconds,
        }

    def get_files(self, analysis: MediaAnalysis) -> list[dict[str, str]]:
        request = self.context.get("request")
        files = []
        for item in analysis.outputs if analysis.status == MediaAnalysis.Status.SUCCEEDED else []:
            url = reverse("api-analysis-file", args=[analysis.pk, item["name"]])
            files.append({**item, "url": request.build_absolute_uri(url) if request else url})
        return files


class ImagesUploadSerializer(serializers.Serializer):
    images = serializers.ListField(child=serializers.FileField(), allow_empty=False)


class VideoUploadSerializer(serializers.Serializer):
    video = serializers.FileField()
    interval = serializers.FloatField(min_value=MINIMUM_INTERVAL, max_value=24 * 3600)
    faces = serializers.ChoiceField(choices=MediaAnalysis.Faces.choices, default=MediaAnalysis.Faces.ALL)
    annotate_video = serializers.BooleanField(default=True)


class LabelledUploadSerializer(serializers.Serializer):
    archive = serializers.FileField(
        help_text="A zip archive with one folder per emotion (angry, disgust, fear, happy, sad, surprise, neutral, or "
        "the training command's synonyms such as anger or happiness); other folders are skipped."
    )
    detect_faces = serializers.BooleanField(
        default=True,
        help_text="Find, align and crop the face in each image (an image without a face counts as wrong); false: "
        "each image is the face.",
    )


class RecordingUploadSerializer(serializers.Serializer):
    video = serializers.FileField()
    offset = serializers.FloatField(default=0, min_value=-24 * 3600, max_value=24 * 3600)
    participant = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_DATABASE_ID)
    participant_label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    annotate_video = serializers.BooleanField(default=True)
