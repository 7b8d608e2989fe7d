"""What was measured: one emotion sample per participant and sampling slot, and the running totals reports read."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from inference import EMOTIONS
from screenings.models.people import Participant
from screenings.models.study import Screening

# The totals' columns: per emotion, the sum of its probability and how often it was dominant.
DOMINANT_FIELDS = {emotion: f"dominant_{emotion}" for emotion in EMOTIONS}
SLOT_TOTAL_COLUMNS = ["faces", "participants", *EMOTIONS, *DOMINANT_FIELDS.values()]


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
    looking_at_screen = models.BooleanField(
        null=True,
        blank=True,
        help_text=(
            "Whether the head was turned less than about 30 degrees from the camera, estimated from the face's "
            "landmarks (inference.attention); empty without a face or where the detector gave no landmarks (Haar)."
        ),
    )
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


class ViewerSeries(models.Model):
    """One participant's samples packed into arrays (``screenings.rules.series``), for the report metrics.

    Derived data, like the running totals, but never written by capture: the reports build it
    when they first need it and again whenever the participant's totals no longer match
    ``totals_key`` (a stored or erased sample changes them). Erasing a participant's samples
    deletes it with them.
    """

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, primary_key=True, related_name="series")
    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="viewer_series")
    totals_key = models.CharField(max_length=64, help_text="Digest of the participant's totals it was built from.")
    data = models.BinaryField()

    class Meta:
        verbose_name_plural = "viewer series"

    def __str__(self) -> str:
        return f"series of {self.participant_id}"
