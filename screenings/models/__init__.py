"""The study's data: what a screening is, who took part, what was measured, and the media-analysis jobs.

Django finds every model through this package; code imports them from here.
"""

from screenings.models.analyses import MediaAnalysis, MediaAnalysisQuerySet
from screenings.models.people import Answer, Participant, ParticipantQuerySet, new_participant_token
from screenings.models.samples import EmotionSample, EmotionTotals, ParticipantTotals, TimelineSlot, ViewerSeries
from screenings.models.study import (
    MINIMUM_SAMPLING_INTERVAL,
    SAMPLING_INTERVAL_CHOICES,
    STIMULUS_EXTENSIONS,
    Question,
    Scene,
    Screening,
    ScreeningQuerySet,
    Segment,
    stimulus_upload_path,
    validate_stimulus_size,
)

__all__ = [
    "MINIMUM_SAMPLING_INTERVAL",
    "SAMPLING_INTERVAL_CHOICES",
    "STIMULUS_EXTENSIONS",
    "Answer",
    "EmotionSample",
    "EmotionTotals",
    "MediaAnalysis",
    "MediaAnalysisQuerySet",
    "Participant",
    "ParticipantQuerySet",
    "ParticipantTotals",
    "Question",
    "Scene",
    "Screening",
    "ScreeningQuerySet",
    "Segment",
    "TimelineSlot",
    "ViewerSeries",
    "new_participant_token",
    "stimulus_upload_path",
    "validate_stimulus_size",
]
