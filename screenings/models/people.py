"""Who took part in a screening and what they answered."""

from __future__ import annotations

import secrets

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q

from screenings.models.study import Question, Screening


def new_participant_token() -> str:
    """An unguessable, URL-safe participant token: 32 random bytes (256 bits)."""
    return secrets.token_urlsafe(32)


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
    face_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the camera check last saw the participant's face."
    )
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
    # A server that crashed never cleared its connections' channels: a connection counts as live only
    # while it was seen (connected, or sent a frame) within CAPTURE_CONNECTION_TIMEOUT_SECONDS.
    capture_seen_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the live connection last connected or sent a frame."
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
        """The id, then the organizer's label and the panel id where there are: ``#12 panel-A-01 (pid 4711)``."""
        text = f"#{self.pk}" if self.pk is not None else "new participant"
        if self.label:
            text += f" {self.label}"
        if self.external_id:
            text += f" (pid {self.external_id})"
        return text

    @property
    def has_ended(self) -> bool:
        return self.state in (self.State.COMPLETED, self.State.DECLINED, self.State.WITHDRAWN)


class Answer(models.Model):
    """One participant's answer to one question in one phase; the value is JSON checked against the question's kind."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="answers")
    # RESTRICT: a question that has answers cannot be deleted on its own (its screening, with its
    # participants, still can); screenings.services.questions says so in words first.
    question = models.ForeignKey(Question, on_delete=models.RESTRICT, related_name="answers")

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
