"""Reads: the querysets and lookups interfaces and reports use, scoped to the organizer who asks."""

from screenings.selectors.screenings import (
    analysis_for_organizer,
    audience_running_mean,
    capture_allowed,
    capture_allowed_for,
    live_participants,
    participant_by_token,
    participant_for_capture,
    participants_for_organizer,
    questions_for_phase,
    screening_for_organizer,
    screening_is_deletable,
    screenings_for_organizer,
)

__all__ = [
    "analysis_for_organizer",
    "audience_running_mean",
    "capture_allowed",
    "capture_allowed_for",
    "live_participants",
    "participant_by_token",
    "participant_for_capture",
    "participants_for_organizer",
    "questions_for_phase",
    "screening_for_organizer",
    "screening_is_deletable",
    "screenings_for_organizer",
]
