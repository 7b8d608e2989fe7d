"""Segments of an audience: the rules an organizer writes, checked with a message per rule, and what meets them.

A segment's rules are a list of objects, each naming one thing about a participant; a
participant belongs to the segment when every rule holds (an empty list: everyone).

- ``{"question": 12, "in": ["Weekly", "Daily"]}``: a choice (or Likert point) among those given; a
  multiple-choice answer matches when any of its choices is given.
- ``{"question": 14, "min": 4, "max": 5}``: a Likert, number or slider answer in the range (either
  bound may be left out).
- ``"phase"``: ``"before"`` or ``"after"``, which answer counts; implied by a question asked only
  before or only after watching, required for one asked both.
- ``{"panel_id": ["P1", "P2"]}``: the participant's panel id (external id) is one of those.
- ``{"label": ["wave-1"]}``: the organizer's label is one of those, or numbered in a batch of
  invites made with it (``wave-1-01``, ``wave-1-02``...).
- ``{"capture": "live"}`` or ``{"capture": "recording"}``: captured by the webcam while watching, or
  read from an uploaded recording.
- ``{"min_face_rate": 0.8}``: the face was found in at least this share (0 to 1) of their frames.

The rules are stored as ``check_segment_rules`` returns them, the phase written out, so a
question later asked in both phases keeps meaning what it meant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from screenings.rules.questions import CHOICE_KINDS, LIKERT_POINTS, QuestionKind

if TYPE_CHECKING:
    from screenings.models import Question

RANGE_KINDS = {QuestionKind.LIKERT5, QuestionKind.LIKERT7, QuestionKind.NUMBER, QuestionKind.SLIDER}
CAPTURE_LIVE, CAPTURE_RECORDING = "live", "recording"
PHASES = ("before", "after")
MAX_RULES = 20
MAX_LISTED = 1000
MAX_ID = 2**63 - 1
EXAMPLE = '[{"question": 12, "in": ["Weekly"]}, {"question": 14, "min": 4}]'


class RuleError(Exception):
    """What is wrong with one rule, in words (the position is added by ``check_segment_rules``)."""


def check_segment_rules(rules: Any, *, questions: Mapping[int, Question]) -> list[dict[str, Any]]:
    """The rules, checked against the screening's ``questions`` (by id) and normalised for storing.

    Raises ValidationError on ``rules`` with one message per broken rule ("Rule 2: ...").
    """
    if not isinstance(rules, list):
        raise ValidationError({"rules": [f"Rules must be a list of rule objects, e.g. {EXAMPLE}."]})
    if len(rules) > MAX_RULES:
        raise ValidationError({"rules": [f"A segment has at most {MAX_RULES} rules."]})
    checked, errors = [], []
    for position, rule in enumerate(rules, 1):
        try:
            checked.append(check_rule(rule, questions=questions))
        except RuleError as error:
            errors.append(f"Rule {position}: {error}")
    if errors:
        raise ValidationError({"rules": errors})
    return checked


def check_rule(rule: Any, *, questions: Mapping[int, Question]) -> dict[str, Any]:
    """One rule, checked and normalised; raises RuleError saying what is wrong."""
    if not isinstance(rule, dict):
        raise RuleError('a rule is an object such as {"question": 12, "in": ["Weekly"]}.')
    kinds = [key for key in RULE_CHECKS if key in rule]
    if len(kinds) != 1:
        raise RuleError(f"give exactly one of {', '.join(RULE_CHECKS)}.")
    return RULE_CHECKS[kinds[0]](rule, questions)


def _refuse_unknown_keys(rule: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(str(key) for key in rule if key not in allowed)
    if unknown:
        raise RuleError(f"unknown key {', '.join(map(repr, unknown))} (this rule takes {', '.join(sorted(allowed))}).")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _question_rule(rule: dict[str, Any], questions: Mapping[int, Question]) -> dict[str, Any]:
    _refuse_unknown_keys(rule, {"question", "phase", "in", "min", "max"})
    question = _question(rule["question"], questions)
    phase = _phase(rule.get("phase"), question)
    has_in, has_range = "in" in rule, "min" in rule or "max" in rule
    if has_in == has_range:
        raise RuleError('give either "in" (the answers to match) or "min" and/or "max" (a range), not both.')
    checked: dict[str, Any] = {"question": question.pk, "phase": phase}
    if has_in:
        return checked | {"in": _answers_listed(rule["in"], question)}
    return checked | _range(rule, question)


def _question(question_id: Any, questions: Mapping[int, Question]) -> Question:
    if not isinstance(question_id, int) or isinstance(question_id, bool) or not 1 <= question_id <= MAX_ID:
        raise RuleError("question must be the id of one of this screening's questions (a whole number).")
    question = questions.get(question_id)
    if question is None:
        # The same words whether the id is unknown or another screening's: ids of others do not leak.
        raise RuleError(f"question {question_id} is not one of this screening's questions.")
    if question.kind == QuestionKind.TEXT:
        raise RuleError(f"question {question_id} (“{question.text}”) is free text: a segment needs a choice, "
                        "a scale or a number.")  # fmt: skip
    return question


def _phase(given: Any, question: Question) -> str:
    if given is not None and given not in PHASES:
        raise RuleError('phase must be "before" or "after".')
    if question.phase in PHASES:
        if given is not None and given != question.phase:
            raise RuleError(f"question {question.pk} is asked only {question.phase} watching, not {given}.")
        return str(question.phase)
    if given is None:
        raise RuleError(f'question {question.pk} is asked before and after watching: say which answer counts with '
                        '"phase": "before" or "after".')  # fmt: skip
    return str(given)


def _answers_listed(values: Any, question: Question) -> list[Any]:
    if not isinstance(values, list) or not values or len(values) > MAX_LISTED:
        raise RuleError(f'"in" must be a list of 1 to {MAX_LISTED} answers.')
    if question.kind in CHOICE_KINDS:
        allowed: list[Any] = list(question.choices)
        wrong = [value for value in values if not isinstance(value, str) or value not in allowed]
        if wrong:
            raise RuleError(f"{wrong[0]!r} is not a choice of question {question.pk} (its choices: "
                            f"{', '.join(map(repr, allowed))}).")  # fmt: skip
    elif question.kind in LIKERT_POINTS:
        points = LIKERT_POINTS[QuestionKind(question.kind)]
        if not all(_is_number(value) and value == int(value) and 1 <= value <= points for value in values):
            raise RuleError(f"question {question.pk} is a Likert scale: its answers are the points 1 to {points}.")
        values = [int(value) for value in values]
    else:
        raise RuleError(f'question {question.pk} takes a number: give a range with "min" and/or "max".')
    return list(dict.fromkeys(values))


def _range(rule: dict[str, Any], question: Question) -> dict[str, float]:
    if question.kind not in RANGE_KINDS:
        raise RuleError(f'question {question.pk} is a choice question: give the choices to match with "in".')
    bounds: dict[str, float] = {key: rule[key] for key in ("min", "max") if key in rule}
    for key, value in bounds.items():
        if not _is_number(value):
            raise RuleError(f"{key} must be a number.")
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        raise RuleError(f"min ({bounds['min']:g}) is above max ({bounds['max']:g}).")
    return bounds


def _texts_rule(key: str) -> Callable[[dict[str, Any], Mapping[int, Question]], dict[str, Any]]:
    def check(rule: dict[str, Any], questions: Mapping[int, Question]) -> dict[str, Any]:
        _refuse_unknown_keys(rule, {key})
        values = rule[key]
        if not isinstance(values, list) or not values or len(values) > MAX_LISTED:
            raise RuleError(f"{key} must be a list of 1 to {MAX_LISTED} texts.")
        if not all(isinstance(value, str) and value for value in values):
            raise RuleError(f"each {key} must be a non-empty text.")
        return {key: list(dict.fromkeys(values))}

    return check


def _capture_rule(rule: dict[str, Any], questions: Mapping[int, Question]) -> dict[str, Any]:
    _refuse_unknown_keys(rule, {"capture"})
    if rule["capture"] not in (CAPTURE_LIVE, CAPTURE_RECORDING):
        raise RuleError(f'capture must be "{CAPTURE_LIVE}" (the webcam while watching) or "{CAPTURE_RECORDING}" '
                        "(an uploaded recording).")  # fmt: skip
    return {"capture": rule["capture"]}


def _face_rate_rule(rule: dict[str, Any], questions: Mapping[int, Question]) -> dict[str, Any]:
    _refuse_unknown_keys(rule, {"min_face_rate"})
    rate = rule["min_face_rate"]
    if not _is_number(rate) or not 0 <= rate <= 1:
        raise RuleError("min_face_rate must be a share from 0 to 1 (0.8: the face found in 80% of the frames).")
    return {"min_face_rate": float(rate)}


RULE_CHECKS: dict[str, Callable[[dict[str, Any], Mapping[int, Question]], dict[str, Any]]] = {
    "question": _question_rule,
    "panel_id": _texts_rule("panel_id"),
    "label": _texts_rule("label"),
    "capture": _capture_rule,
    "min_face_rate": _face_rate_rule,
}


def answer_meets(rule: Mapping[str, Any], value: Any) -> bool:
    """Whether a stored answer meets a checked question rule ("prefer not to say" and no answer never do)."""
    if "in" in rule:
        if isinstance(value, list):
            return any(item in rule["in"] for item in value)
        return isinstance(value, str | int) and not isinstance(value, bool) and value in rule["in"]
    if not _is_number(value):
        return False
    return bool(rule.get("min", -math.inf) <= value <= rule.get("max", math.inf))


def rule_text(rule: Mapping[str, Any], questions: Mapping[int, Question]) -> str:
    """A checked rule in words, for pages: ``“Would you watch it?” (after) is Yes or Maybe``."""
    if "question" in rule:
        question = questions.get(rule["question"])
        name = f"“{question.text}”" if question is not None else f"question {rule['question']}"
        if "in" in rule:
            return f"{name} ({rule['phase']}) is {' or '.join(str(value) for value in rule['in'])}"
        low, high = rule.get("min"), rule.get("max")
        span = f"from {low:g} to {high:g}" if low is not None and high is not None else (
            f"at least {low:g}" if low is not None else f"at most {high:g}")  # fmt: skip
        return f"{name} ({rule['phase']}) {span}"
    if "panel_id" in rule or "label" in rule:
        key = "panel_id" if "panel_id" in rule else "label"
        return f"{key.replace('_', ' ')} is {' or '.join(rule[key])}"
    if "capture" in rule:
        return "captured live by the webcam" if rule["capture"] == CAPTURE_LIVE else "read from an uploaded recording"
    return f"face found in at least {rule['min_face_rate']:.0%} of frames"
