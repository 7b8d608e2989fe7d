"""Questions and answers: the kinds of question, what makes a definition valid, and what makes an answer valid."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

if TYPE_CHECKING:
    from screenings.models import Question


class QuestionKind(models.TextChoices):
    TEXT = "text", "Free text"
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"
    LIKERT5 = "likert5", "Likert 1-5"
    LIKERT7 = "likert7", "Likert 1-7"
    NUMBER = "number", "Number"
    SLIDER = "slider", "Slider 0-100"


MAX_TEXT_ANSWER_LENGTH = 5000
LIKERT_POINTS = {QuestionKind.LIKERT5: 5, QuestionKind.LIKERT7: 7}
CHOICE_KINDS = {QuestionKind.SINGLE, QuestionKind.MULTIPLE}
SLIDER_RANGE = (0, 100)
# The stored value of a "prefer not to say" answer: JSON no kind's own answer can be (none is an
# object), so it is never mistaken for a text or a choice that reads the same.
PREFER_NOT_TO_SAY: dict[str, bool] = {"prefer_not_to_say": True}
PREFER_NOT_TO_SAY_TEXT = "(prefer not to say)"
NO_ANSWER_TEXT = "(no answer)"
NONE_CHOSEN_TEXT = "(none chosen)"
# Between the choices of a multiple-choice answer shown as text (a choice may hold a comma).
CHOICE_SEPARATOR = "; "


def is_prefer_not(value: Any) -> bool:
    """Whether a stored answer is "prefer not to say"."""
    return value == PREFER_NOT_TO_SAY


def answer_text(value: Any) -> str:
    """A stored answer as a reader reads it: the choices picked as text (never a Python list), numbers as typed.

    None (a question left unanswered) reads as the empty string.
    """
    if value is None:
        return ""
    if is_prefer_not(value):
        return PREFER_NOT_TO_SAY_TEXT
    if isinstance(value, list):
        return CHOICE_SEPARATOR.join(str(item) for item in value) or NONE_CHOSEN_TEXT
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_question_definition(question: Question) -> None:
    """Raise ValidationError when a question cannot be answered as defined (no choices, min above max...)."""
    if question.kind in CHOICE_KINDS:
        choices = question.choices
        if not isinstance(choices, list) or not all(isinstance(choice, str) and choice.strip() for choice in choices):
            raise ValidationError({"choices": "Choices must be a list of non-empty texts."})
        if len(choices) < 2:
            raise ValidationError({"choices": "A choice question needs at least two choices."})
        if len(set(choices)) != len(choices):
            raise ValidationError({"choices": "Each choice may appear only once."})
    elif question.choices:
        raise ValidationError({"choices": "Only single and multiple choice questions have choices."})
    if question.kind == QuestionKind.NUMBER:
        if (
            question.min_value is not None
            and question.max_value is not None
            and question.min_value > question.max_value
        ):
            raise ValidationError({"max_value": "The maximum must not be below the minimum."})
    elif question.min_value is not None or question.max_value is not None:
        raise ValidationError({"min_value": "Only number questions have a minimum and maximum."})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def _needs_an_answer(question: Question) -> str:
    # An untouched slider arrives blank, so its participant is told what answering takes.
    message = "This question needs an answer"
    if question.kind == QuestionKind.SLIDER:
        message += ": please move the slider to your answer"
    if question.allow_prefer_not:
        message += " (or tick “Prefer not to say”)"
    return message + "."


def validate_answer_value(question: Question, value: Any) -> Any:
    """Return the value to store for ``question``, or raise ValidationError with a message for the participant.

    A blank value is stored as None when the question is optional. ``PREFER_NOT_TO_SAY`` is an
    answer to any question whose organizer allows it.
    """
    if is_prefer_not(value):
        if not question.allow_prefer_not:
            raise ValidationError("This question has no “prefer not to say” answer.")
        return dict(PREFER_NOT_TO_SAY)
    if _is_blank(value):
        if question.required:
            raise ValidationError(_needs_an_answer(question))
        return None
    kind = question.kind
    if kind == QuestionKind.TEXT:
        if not isinstance(value, str):
            raise ValidationError("The answer must be text.")
        if len(value) > MAX_TEXT_ANSWER_LENGTH:
            raise ValidationError(f"Please keep the answer under {MAX_TEXT_ANSWER_LENGTH} characters.")
        return value.strip()
    if kind == QuestionKind.SINGLE:
        if value not in question.choices:
            raise ValidationError("Please pick one of the choices given.")
        return value
    if kind == QuestionKind.MULTIPLE:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError("The answer must be a list of choices.")
        unknown = [item for item in value if item not in question.choices]
        if unknown:
            raise ValidationError("Please pick only from the choices given.")
        if len(set(value)) != len(value):
            raise ValidationError("Each choice can be picked once.")
        # Keep the organizer's order, whatever order the browser sent.
        return [choice for choice in question.choices if choice in value]
    if kind in LIKERT_POINTS:
        points = LIKERT_POINTS[kind]
        if not _is_number(value) or int(value) != value or not 1 <= value <= points:
            raise ValidationError(f"Please pick a point from 1 to {points}.")
        return int(value)
    if kind == QuestionKind.NUMBER:
        if not _is_number(value):
            raise ValidationError("The answer must be a number.")
        if question.min_value is not None and value < question.min_value:
            raise ValidationError(f"The answer must be at least {question.min_value:g}.")
        if question.max_value is not None and value > question.max_value:
            raise ValidationError(f"The answer must be at most {question.max_value:g}.")
        return int(value) if float(value).is_integer() else float(value)
    if kind == QuestionKind.SLIDER:
        low, high = SLIDER_RANGE
        if not _is_number(value) or int(value) != value or not low <= value <= high:
            raise ValidationError(f"The answer must be a whole number from {low} to {high}.")
        return int(value)
    raise ValidationError(f"Unknown question kind {kind!r}.")


# What an answer means depends on these: once a question has answers they stay as they were.
ANSWER_BOUND_FIELDS = {
    "kind": "its kind (and so its scale)",
    "min_value": "its minimum",
    "max_value": "its maximum",
}
PHASES_ASKED = {"before": {"before"}, "after": {"after"}, "both": {"before", "after"}}


def answered_question_refusals(
    question: Question, changes: Mapping[str, Any], *, answered_phases: Iterable[str]
) -> dict[str, str]:
    """Why each of ``changes`` may not be made to a question participants have answered (empty: all allowed).

    Wording, help text, scale labels, order, whether it is required or retired, and *adding*
    choices stay allowed; what would make a stored answer mean something else does not.
    ``answered_phases``: the phases in which answers exist.
    """
    refusals = {}
    for field, what in ANSWER_BOUND_FIELDS.items():
        if field in changes and changes[field] != getattr(question, field):
            refusals[field] = f"Participants have answered this question, so {what} cannot change."
    if "choices" in changes:
        kept = set(changes["choices"] or [])
        lost = [choice for choice in question.choices if choice not in kept]
        if lost:
            refusals["choices"] = (
                f"Participants may have picked {', '.join(map(repr, lost))}: existing choices cannot be renamed "
                "or removed once the question has answers (new choices can be added)."
            )
    if "phase" in changes:
        dropped = set(answered_phases) - PHASES_ASKED.get(changes["phase"], set())
        if dropped:
            refusals["phase"] = (
                f"Participants have answered this question {' and '.join(sorted(dropped))} watching, "
                "so it must still be asked then."
            )
    return refusals
