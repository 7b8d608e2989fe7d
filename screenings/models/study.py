"""What a study is: a screening, the questions it asks, the scenes of its stimulus and the segments of its audience."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile

from inference import InvalidVideo, video_duration
from screenings.rules.questions import QuestionKind, check_question_definition

STIMULUS_EXTENSIONS = ["mp4", "webm", "ogg", "ogv"]
SAMPLING_INTERVAL_CHOICES = [
    (Decimal("0.5"), "every 0.5 s"),
    (Decimal("1"), "every second"),
    (Decimal("2"), "every 2 s"),
    (Decimal("5"), "every 5 s"),
]
MINIMUM_SAMPLING_INTERVAL = Decimal("0.2")


def stimulus_upload_path(screening: Screening, filename: str) -> str:
    return f"stimuli/{screening.slug}/{filename}"


def validate_stimulus_size(file: models.fields.files.FieldFile) -> None:
    limit = settings.STIMULUS_MAX_MEGABYTES * 1024 * 1024
    if file.size is not None and file.size > limit:
        raise ValidationError(f"The stimulus is larger than the limit of {settings.STIMULUS_MAX_MEGABYTES} MB.")


def validate_stimulus_video(file: File) -> None:
    """A new stimulus upload must be a video PyAV can open, with a video track: its extension proves nothing.

    A file already stored was checked when it was uploaded and is not read again.
    """
    if isinstance(file, FieldFile):
        if file._committed:
            return
        file = file.file
    try:
        if hasattr(file, "temporary_file_path"):
            video_duration(Path(file.temporary_file_path()))
            return
        # A small upload is held in memory; the engine reads videos from a path.
        with tempfile.NamedTemporaryFile(suffix=Path(file.name or "").suffix) as copy:
            for chunk in file.chunks():
                copy.write(chunk)
            copy.flush()
            video_duration(Path(copy.name))
    except InvalidVideo as error:
        raise ValidationError(f"The stimulus cannot be played: {error.reason}.", code="invalid_video") from None


class ScreeningQuerySet(models.QuerySet["Screening"]):
    def for_organizer(self, user: AbstractBaseUser | AnonymousUser) -> ScreeningQuerySet:
        """The screenings this user may see: all for a superuser, owned or shared for an organizer."""
        if not (user.is_active and user.is_staff):
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(Q(owner=user) | Q(collaborators=user)).distinct()


class Screening(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class CaptureSource(models.TextChoices):
        WEBCAM = "webcam", "Webcam"
        SCREEN = "screen", "Screen share"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True, help_text="Used in the open link: /s/<slug>/join/")
    description = models.TextField(blank=True, help_text="Shown to participants on the first page.")
    stimulus = models.FileField(
        upload_to=stimulus_upload_path,
        blank=True,
        validators=[FileExtensionValidator(STIMULUS_EXTENSIONS), validate_stimulus_size, validate_stimulus_video],
        help_text="The video participants watch: MP4, WebM or Ogg.",
    )
    stimulus_url = models.URLField(blank=True, help_text="Or an external video address, when no file is uploaded.")
    stimulus_duration = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0)], help_text="Seconds; read from the file when empty."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    sampling_interval = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(MINIMUM_SAMPLING_INTERVAL)],
        help_text="Seconds of media time between webcam frames: 0.5, 1, 2 or 5 (any value of 0.2 or more).",
    )
    capture_source = models.CharField(max_length=10, choices=CaptureSource.choices, default=CaptureSource.WEBCAM)
    consent_text = models.TextField(help_text="What participants agree to before anything is recorded.")
    keep_raw_frames = models.BooleanField(
        default=False, help_text="Keep the webcam frames as files. Off: only the emotion predictions are stored."
    )
    require_face_check = models.BooleanField(
        default=True,
        help_text="Participants can start watching only once the camera check has seen their face.",
    )
    pause_without_face = models.BooleanField(
        default=False,
        help_text="While watching, pause the video when the participant's face has not been seen for a few samples, "
        "until it is back.",
    )
    participant_quota = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most participants who may take part through the open link; empty for no limit.",
    )
    completion_redirect_url = models.URLField(
        blank=True,
        help_text="Where finished participants are sent, e.g. a panel provider. {pid} is replaced by the panel id.",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_screenings")
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_screenings", help_text="Organizers who also run it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ScreeningQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.stimulus and self.stimulus_url:
            raise ValidationError("Give either a stimulus file or a stimulus URL, not both.")
        if self.pk is not None and self._sampling_interval_changed() and self.samples.exists():
            # Samples already recorded were taken (and summed into timeline slots) at the old interval.
            raise ValidationError(
                {"sampling_interval": "The sampling interval cannot change once emotion samples are recorded."}
            )
        self._check_links_kept()

    def _check_links_kept(self) -> None:
        """Once a screening has been opened its links have been sent: its slug and stimulus stay as they are."""
        if self.pk is None:
            return
        stored = Screening.objects.filter(pk=self.pk).values("opened_at", "slug", "stimulus", "stimulus_url").first()
        if stored is None or stored["opened_at"] is None:
            return
        errors = {}
        if self.slug != stored["slug"]:
            errors["slug"] = "The open link has been handed out: the slug cannot change once the screening has opened."
        if (self.stimulus.name or "") != (stored["stimulus"] or "") or self.stimulus_url != stored["stimulus_url"]:
            errors["stimulus"] = (
                "Participants have been sent to this stimulus and their samples are times in it: it cannot change "
                "once the screening has opened. Create a new screening for another video."
            )
        if errors:
            raise ValidationError(errors)

    def _sampling_interval_changed(self) -> bool:
        stored = Screening.objects.filter(pk=self.pk).values_list("sampling_interval", flat=True).first()
        return stored is not None and Decimal(stored) != Decimal(self.sampling_interval)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def has_stimulus(self) -> bool:
        return bool(self.stimulus) or bool(self.stimulus_url)


class Question(models.Model):
    class Phase(models.TextChoices):
        BEFORE = "before", "Before watching"
        AFTER = "after", "After watching"
        BOTH = "both", "Both (before and after)"

    Kind = QuestionKind

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="questions")
    phase = models.CharField(
        max_length=10,
        choices=Phase.choices,
        default=Phase.AFTER,
        help_text="'Both' asks the same question before and after, so the change can be measured.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    text = models.CharField(max_length=500)
    help_text = models.CharField(max_length=300, blank=True)
    choices = models.JSONField(default=list, blank=True, help_text="For choice questions: a list of options.")
    min_value = models.FloatField(null=True, blank=True, help_text="For number questions.")
    max_value = models.FloatField(null=True, blank=True, help_text="For number questions.")
    low_label = models.CharField(max_length=60, blank=True, help_text="Likert and slider: meaning of the low end.")
    high_label = models.CharField(max_length=60, blank=True, help_text="Likert and slider: meaning of the high end.")
    required = models.BooleanField(default=True)
    allow_prefer_not = models.BooleanField(
        "allow “prefer not to say”",
        default=False,
        help_text="Participants may answer “prefer not to say” instead; reports show it as such.",
    )
    order = models.PositiveIntegerField(default=0)
    retired = models.BooleanField(
        default=False,
        help_text="Not asked of new participants; the answers already given are kept and reported.",
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text

    def asked_in(self, phase: str) -> bool:
        return self.phase in (phase, self.Phase.BOTH)

    def clean(self) -> None:
        check_question_definition(self)


class Scene(models.Model):
    """A scene of the stimulus, defined by the organizer."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="scenes")
    start = models.FloatField(validators=[MinValueValidator(0)], help_text="Seconds into the stimulus.")
    end = models.FloatField(validators=[MinValueValidator(0)], help_text="Seconds into the stimulus.")
    label = models.CharField(max_length=120)

    class Meta:
        ordering = ["start", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.start:g}-{self.end:g} s)"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValidationError({"end": "A scene must end after it starts."})


class Segment(models.Model):
    """A part of a screening's audience, defined by rules on what they answered and how they took part.

    ``rules`` is a list of rule objects, all of which a participant must meet (checked and
    normalised by ``screenings.rules.segments``); reports and downloads can be restricted to it.
    """

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=100)
    rules = models.JSONField(default=list, blank=True, help_text="Every rule must hold (see the report's help).")

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["screening", "name"], name="unique_segment_name_per_screening")]

    def __str__(self) -> str:
        return self.name
