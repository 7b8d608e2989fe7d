"""Reads: what interfaces look up, scoped to the organizer who asks (reports read through selectors.reports)."""

from screenings.selectors.analyses import (
    Status,
    analysis_for_organizer,
    analysis_output_path,
)
from screenings.selectors.participants import (
    capture_allowed,
    capture_allowed_for,
    live_participants,
    participant_by_token,
    participant_in_screening,
    participants_for_organizer,
    returning_participant,
)
from screenings.selectors.screenings import (
    api_token_exists,
    audience_running_mean,
    count_subquery,
    questions_for_phase,
    screening_by_slug,
    screening_for_organizer,
    screenings_for_organizer,
)

__all__ = [
    "Status",
    "analysis_for_organizer",
    "analysis_output_path",
    "api_token_exists",
    "audience_running_mean",
    "capture_allowed",
    "capture_allowed_for",
    "count_subquery",
    "live_participants",
    "participant_by_token",
    "participant_in_screening",
    "participants_for_organizer",
    "questions_for_phase",
    "returning_participant",
    "screening_by_slug",
    "screening_for_organizer",
    "screenings_for_organizer",
]
