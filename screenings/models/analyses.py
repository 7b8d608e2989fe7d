"""Organizers' media-analysis jobs: uploaded images and videos, participants' recordings, labelled faces."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models

from screenings.models.people import Participant
from screenings.models.study import Screening


class MediaAnalysisQuerySet(models.QuerySet["MediaAnalysis"]):
    def for_organizer(self, user: AbstractBaseUser | AnonymousUser) -> MediaAnalysisQuerySet:
        """The analyses this user may see: their own (all for a superuser)."""
        if not (user.is_active and user.is_staff):
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(owner=user)


class MediaAnalysis(models.Model):
    """An organizer's analysis of uploaded images, a video, a participant's recorded video, or the served
    model's evaluation on a zip of labelled faces.

    The work runs as a background job; this row is what the pages and the API show of it:
    status, progress, the reason when it failed, and the result files under ``folder``.
    """

    class Kind(models.TextChoices):
        IMAGES = "images", "Images"
        VIDEO = "video", "Video"
        RECORDING = "recording", "Recording of a participant"
        LABELLED = "labelled", "Labelled faces (the model's accuracy)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Faces(models.TextChoices):
        ALL = "all", "Every face"
        LARGEST = "largest", "The largest face only"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_analyses")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=200, help_text="The uploaded file names.")
    folder = models.CharField(max_length=100, unique=True, editable=False, help_text="Under MEDIA_ROOT.")
    inputs = models.JSONField(default=list, help_text="Uploaded files: storage names of the originals.")
    interval = models.FloatField(null=True, blank=True, help_text="Seconds between sampled video frames.")
    faces = models.CharField(max_length=10, choices=Faces.choices, default=Faces.ALL)
    annotate_video = models.BooleanField(default=True)
    detect_faces = models.BooleanField(
        default=True,
        help_text="Labelled faces: find the face in each image (off: each image is the face).",
    )
    # Recordings: the participant whose samples the video gives, and the stimulus time at the video's start.
    screening = models.ForeignKey(Screening, null=True, blank=True, on_delete=models.CASCADE, related_name="recordings")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.CASCADE, related_name="recordings"
    )
    participant_label = models.CharField(
        max_length=200, blank=True, help_text="For a new participant created from the recording."
    )
    offset = models.FloatField(null=True, blank=True, help_text="Stimulus time, in seconds, at the video's start.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0, help_text="0 to 1.")
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True, help_text="Why it failed, in words for the organizer.")
    message = models.TextField(blank=True, help_text="A note on the result, e.g. that no face was found.")
    result = models.JSONField(default=dict, blank=True, help_text="Faces per image, or the video's summary.")
    outputs = models.JSONField(default=list, blank=True, help_text="Result files: name, label, content type.")
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MediaAnalysisQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "media analyses"
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="analysis_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def results_folder(self) -> str:
        """Where a finished run's files are, under MEDIA_ROOT; written only when the whole run succeeded."""
        return f"{self.folder}/results"
