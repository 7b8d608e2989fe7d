"""A screening as a new researcher tries one: a two-minute trailer, three viewers, scenes and every kind of question."""

from __future__ import annotations

import math

from screenings.models import Participant, Question, Screening
from tests.factories import AnswerFactory, EmotionSampleFactory, ParticipantFactory, QuestionFactory, SceneFactory

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
DURATION = 120


def _probabilities(viewer: int, second: int) -> dict[str, float]:
    """A smooth, different curve for each viewer: happy and surprise waves over a neutral base."""
    happy = 0.45 + 0.35 * math.sin((second + 20 * viewer) / 9)
    surprise = 0.15 + 0.1 * math.cos((second + 7 * viewer) / 5)
    rest = 1 - happy - surprise
    values = dict.fromkeys(EMOTIONS, rest / 10)
    return values | {"happy": happy, "surprise": surprise, "neutral": rest / 2}


def three_viewer_trailer(screening: Screening) -> Screening:
    """Fill ``screening``: four scenes, six questions (one of each kind), three viewers sampled every second."""
    screening.stimulus_duration = DURATION
    screening.save(update_fields=["stimulus_duration"])
    for start, end, label in ((0, 30, "Opening"), (30, 70, "Chase"), (70, 100, "Reveal"), (100, 120, "Title card")):
        SceneFactory(screening=screening, start=start, end=end, label=label)
    Kind, Phase = Question.Kind, Question.Phase
    mood = QuestionFactory(screening=screening, phase=Phase.BOTH, kind=Kind.LIKERT5, text="How do you feel?")
    again = QuestionFactory(screening=screening, kind=Kind.SINGLE, text="Would you watch it?",
                            choices=["Yes", "Maybe", "No"])  # fmt: skip
    liked = QuestionFactory(screening=screening, kind=Kind.MULTIPLE, text="Which scenes did you like?",
                            choices=["Opening", "Chase", "Reveal", "Title card"])  # fmt: skip
    times = QuestionFactory(screening=screening, phase=Phase.BEFORE, kind=Kind.NUMBER, text="Films a month?",
                            min_value=0, max_value=60)  # fmt: skip
    interest = QuestionFactory(screening=screening, kind=Kind.SLIDER, text="How interested are you?")
    why = QuestionFactory(screening=screening, kind=Kind.TEXT, text="What stayed with you?")
    answers = [
        (2, 4, "Yes", ["Opening"], 27, 81, "The chase at night."),
        (3, 3, "Maybe", ["Chase", "Reveal"], 3, 55, "Too loud."),
        (4, 5, "Yes", [], 12, 90, "The reveal, and the music."),
    ]
    watched = "2026-01-01T00:00Z"
    for viewer, (before, after, choice, picked, films, slider, text) in enumerate(answers):
        person = ParticipantFactory(screening=screening, state=Participant.State.COMPLETED,
                                    external_id=f"P{viewer + 1}", watch_started_at=watched)  # fmt: skip
        for second in range(DURATION):
            probabilities = _probabilities(viewer, second)
            dominant = max(probabilities, key=probabilities.__getitem__)
            EmotionSampleFactory(participant=person, media_time=float(second), dominant_emotion=dominant,
                                 model_version="fer-v3", **probabilities)  # fmt: skip
        for question, phase, value in (
            (mood, "before", before), (mood, "after", after), (again, "after", choice), (liked, "after", picked),
            (times, "before", films), (interest, "after", slider), (why, "after", text),
        ):  # fmt: skip
            AnswerFactory(participant=person, question=question, phase=phase, value=value)
    return screening
