"""The study data model: screenings, their questions and scenes, participants, answers, emotion samples
and the organizers' media analyses."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from inference.labels import EMOTIONS

STIMULUS_EXTENSIONS = ["mp4", "webm", "ogg", "ogv"]
SAMPLING_INTERVAL_CHOICES = [
    (Decimal("0.5"), "every 0.5 s"),
    (Decimal("1"), "every second"),
    (Decimal("2"), "every 2 s"),
    (Decimal("5"), "every 5 s"),
]
MINIMUM_SAMPLING_INTERVAL = Decimal("0.2")


def new_participant_token() -> str:
    """An unguessable, URL-safe participant token: 32 random bytes (256 bits)."""
    return secrets.token_urlsafe(32)


def stimulus_upload_path(screening: Screening, filename: str) -> str:
    return f"stimuli/{screening.slug}/{filename}"


def validate_stimulus_size(file: models.fields.files.FieldFile) -> None:
    limit = settings.STIMULUS_MAX_MEGABYTES * 1024 * 1024
    if file.size is not None and file.size > limit:
        raise ValidationError(f"The stimulus is larger than the limit of {settings.STIMULUS_MAX_MEGABYTES} MB.")


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
        validators=[FileExtensionValidator(STIMULUS_EXTENSIONS), validate_stimulus_size],
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

    class Kind(models.TextChoices):
        TEXT = "text", "Free text"
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        LIKERT5 = "likert5", "Likert 1-5"
        LIKERT7 = "likert7", "Likert 1-7"
        NUMBER = "number", "Number"
        SLIDER = "slider", "Slider 0-100"

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
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text

    def asked_in(self, phase: str) -> bool:
        return self.phase in (phase, self.Phase.BOTH)

    def clean(self) -> None:
        from screenings.rules.questions import check_question_definition

        check_question_definition(self)


class Marker(models.Model):
    """A scene of the stimulus, defined by the organizer."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="markers")
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


class ParticipantQuerySet(models.QuerySet["Participant"]):
    def for_organizer(self, user: AbstractBaseUser | AnonymousUser) -> ParticipantQuerySet:
        return self.filter(screening__in=Screening.objects.for_organizer(user))


class Participant(models.Model):
    class State(models.TextChoices):
        INVITED = "invited", "Invited"
        CONSENTED = "consented", "Consented"
        BEFORE_DONE = "before_done", "Before questionnaire done"
        WATCHING = "watching", "Watching"
        WATCHED = "watched", "Watched"
        AFTER_DONE = "after_done", "After questionnaire done"
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Source(models.TextChoices):
        INVITE = "invite", "Personal invite link"
        OPEN_LINK = "open_link", "Open link"
        API = "api", "API"
        RECORDING = "recording", "Recorded video"

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="participants")
    token = models.CharField(max_length=64, unique=True, default=new_participant_token, editable=False)
    external_id = models.CharField(max_length=200, blank=True, help_text="Panel id, from ?pid= on the open link.")
    label = models.CharField(max_length=200, blank=True, help_text="Organizer's note, e.g. who the invite went to.")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.INVITE)
    state = models.CharField(max_length=12, choices=State.choices, default=State.INVITED)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    before_done_at = models.DateTimeField(null=True, blank=True)
    watch_started_at = models.DateTimeField(null=True, blank=True)
    watched_at = models.DateTimeField(null=True, blank=True)
    after_done_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    excluded_from_reports = models.BooleanField(
        default=False, help_text="Left out of every report aggregate, e.g. for poor data quality."
    )
    capture_channel = models.CharField(
        max_length=200, blank=True, editable=False, help_text="The live capture connection, while one is open."
    )
    watch_position = models.FloatField(
        default=0, help_text="Media time the participant had reached, so a returning participant resumes there."
    )

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "external_id"],
                condition=~Q(external_id=""),
                name="unique_external_id_per_screening",
            )
        ]

    def __str__(self) -> str:
        return self.external_id or self.label or f"participant {self.pk}"

    @property
    def has_ended(self) -> bool:
        return self.state in (self.State.COMPLETED, self.State.DECLINED, self.State.WITHDRAWN)


class Answer(models.Model):
    """One participant's answer to one question in one phase; the value is JSON checked against the question's kind."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")

    class Phase(models.TextChoices):
        BEFORE = "before", "Before watching"
        AFTER = "after", "After watching"

    phase = models.CharField(max_length=10, choices=Phase.choices)
    value = models.JSONField(null=True, blank=True)
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["participant_id", "phase", "question__order", "question_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "question", "phase"], name="one_answer_per_question_and_phase"
            )
        ]

    def __str__(self) -> str:
        return f"{self.participant} / {self.question} ({self.phase})"


class EmotionSample(models.Model):
    """The emotion read from one webcam frame at one media time of the stimulus."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="samples")
    # Denormalised from the participant so timeline queries over a screening need no join.
    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="samples")
    media_time = models.FloatField(validators=[MinValueValidator(0)], help_text="Seconds into the stimulus.")
    captured_at = models.DateTimeField()
    face_found = models.BooleanField()
    face_x = models.PositiveIntegerField(null=True, blank=True)
    face_y = models.PositiveIntegerField(null=True, blank=True)
    face_width = models.PositiveIntegerField(null=True, blank=True)
    face_height = models.PositiveIntegerField(null=True, blank=True)
    angry = models.FloatField(null=True, blank=True)
    disgust = models.FloatField(null=True, blank=True)
    fear = models.FloatField(null=True, blank=True)
    happy = models.FloatField(null=True, blank=True)
    sad = models.FloatField(null=True, blank=True)
    surprise = models.FloatField(null=True, blank=True)
    neutral = models.FloatField(null=True, blank=True)
    dominant_emotion = models.CharField(max_length=10, blank=True, choices=[(e, e) for e in EMOTIONS])
    model_version = models.CharField(max_length=60, blank=True)
    frame = models.FileField(
        upload_to="frames/", blank=True, help_text="Kept only when the screening keeps raw frames."
    )

    class Meta:
        ordering = ["participant_id", "media_time"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "media_time"], name="one_sample_per_media_time"),
        ]
        indexes = [models.Index(fields=["screening", "media_time"], name="sample_screening_time")]

    def __str__(self) -> str:
        return f"{self.participant} at {self.media_time:.2f} s"

    @property
    def probabilities(self) -> dict[str, float] | None:
        if not self.face_found:
            return None
        return {emotion: getattr(self, emotion) for emotion in EMOTIONS}


class EmotionTotals(models.Model):
    """Sums of each emotion's probability over some faces, and how often each emotion was dominant."""

    angry = models.FloatField(default=0)
    disgust = models.FloatField(default=0)
    fear = models.FloatField(default=0)
    happy = models.FloatField(default=0)
    sad = models.FloatField(default=0)
    surprise = models.FloatField(default=0)
    neutral = models.FloatField(default=0)
    dominant_angry = models.PositiveIntegerField(default=0)
    dominant_disgust = models.PositiveIntegerField(default=0)
    dominant_fear = models.PositiveIntegerField(default=0)
    dominant_happy = models.PositiveIntegerField(default=0)
    dominant_sad = models.PositiveIntegerField(default=0)
    dominant_surprise = models.PositiveIntegerField(default=0)
    dominant_neutral = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class ParticipantTotals(EmotionTotals):
    """Running totals of one participant's samples, kept up to date as samples are recorded and erased.

    Reports read these instead of aggregating every sample again: a participant watching a
    two-hour film at one frame a second has 7,200 samples but one row here.
    """

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, primary_key=True, related_name="totals")
    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="participant_totals")
    samples = models.PositiveIntegerField(default=0)
    faces = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "participant totals"

    def __str__(self) -> str:
        return f"totals of {self.participant_id}"


class TimelineSlot(EmotionTotals):
    """Running totals of a screening's faces within one sampling slot of media time.

    Slot ``n`` covers media times ``[n * interval, (n + 1) * interval)`` at the screening's
    sampling interval, which is why that interval is locked once samples exist. The audience
    timeline and the scene summaries read a few thousand of these rows instead of every sample.
    """

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="timeline_slots")
    slot = models.PositiveIntegerField()
    faces = models.PositiveIntegerField(default=0)
    participants = models.PositiveIntegerField(default=0, help_text="Participants with a face in this slot.")

    class Meta:
        ordering = ["screening_id", "slot"]
        constraints = [models.UniqueConstraint(fields=["screening", "slot"], name="one_timeline_slot")]

    def __str__(self) -> str:
        return f"slot {self.slot} of {self.screening_id}"


class MediaAnalysisQuerySet(models.QuerySet["MediaAnalysis"]):
    def for_organizer(self, user: AbstractBaseUser | AnonymousUser) -> MediaAnalysisQuerySet:
        """The analyses this user may see: their own (all for a superuser)."""
        if not (user.is_active and user.is_staff):
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(owner=user)


class MediaAnalysis(models.Model):
    """An organizer's analysis of uploaded images, a video, or a participant's recorded video.

    The work runs as a background job; this row is what the pages and the API show of it:
    status, progress, the reason when it failed, and the result files under ``folder``.
    """

    class Kind(models.TextChoices):
        IMAGES = "images", "Images"
        VIDEO = "video", "Video"
        RECORDING = "recording", "Recording of a participant"

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
