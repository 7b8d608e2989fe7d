"""The participant-facing questionnaire: one form field per question, cleaned by the answer rules.

A slider always shows a position, so a position alone is not an answer: beside each slider the
page has a checkbox ``q<id>_untouched``, ticked until the participant moves the slider (the page's
script unticks and hides it; without JavaScript the participant unticks it). A ticked one means
no answer, whatever position was sent. A question whose organizer allows it has a checkbox
``q<id>_prefer_not``, which answers "prefer not to say".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from screenings.models import Question
from screenings.rules.questions import (
    LIKERT_POINTS,
    MAX_TEXT_ANSWER_LENGTH,
    PREFER_NOT_TO_SAY,
    SLIDER_RANGE,
    validate_answer_value,
)

UNTOUCHED_SUFFIX = "_untouched"
PREFER_NOT_SUFFIX = "_prefer_not"


def field_name(question: Question) -> str:
    return f"q{question.pk}"


def _ticked(data: Any, name: str) -> bool:
    return data is not None and data.get(name) not in (None, "", "0", "false", "off")


class SliderInput(forms.NumberInput):
    """A range input whose value counts only once its "untouched" checkbox is unticked."""

    input_type = "range"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if _ticked(data, name + UNTOUCHED_SUFFIX):
            return None
        return super().value_from_datadict(data, files, name)


def _form_field(question: Question) -> forms.Field:
    # With "prefer not to say" allowed a blank field may be fine; the answer rules then decide.
    required = question.required and not question.allow_prefer_not
    common: dict[str, Any] = {"label": question.text, "required": required, "help_text": question.help_text}
    kind = question.kind
    if kind == Question.Kind.TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_TEXT_ANSWER_LENGTH, **common)
    if kind == Question.Kind.SINGLE:
        return forms.ChoiceField(choices=[(c, c) for c in question.choices], widget=forms.RadioSelect, **common)
    if kind == Question.Kind.MULTIPLE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in question.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    if kind in LIKERT_POINTS:
        points = range(1, LIKERT_POINTS[kind] + 1)
        field = forms.TypedChoiceField(
            choices=[(p, str(p)) for p in points], coerce=int, widget=forms.RadioSelect, empty_value=None, **common
        )
        field.widget.attrs["class"] = "likert"
        return field
    if kind == Question.Kind.NUMBER:
        return forms.FloatField(min_value=question.min_value, max_value=question.max_value, **common)
    if kind == Question.Kind.SLIDER:
        low, high = SLIDER_RANGE
        # Blank (untouched) is left to the answer rules, which tell the participant how to answer a slider.
        common["required"] = False
        return forms.IntegerField(
            min_value=low, max_value=high, widget=SliderInput(attrs={"min": low, "max": high}), **common
        )
    raise ValueError(f"unknown question kind {kind!r}")


class QuestionnaireForm(forms.Form):
    """One field per question; cleaning runs the same validation the answer service runs."""

    def __init__(self, *args: Any, questions: Iterable[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            field = _form_field(question)
            field.question = question  # type: ignore[attr-defined]
            if self.prefers_not(question):
                # Whatever else was sent for the question is ignored, and not validated either.
                field.required, field.disabled = False, True
            self.fields[field_name(question)] = field

    def prefers_not(self, question: Question) -> bool:
        """Whether the participant ticked "prefer not to say" for ``question`` (only where it is allowed)."""
        return question.allow_prefer_not and _ticked(self.data if self.is_bound else None, self._marker(question))

    @staticmethod
    def _marker(question: Question) -> str:
        return field_name(question) + PREFER_NOT_SUFFIX

    @property
    def prefer_not_chosen(self) -> set[str]:
        """The field names whose "prefer not to say" is ticked, for the page to show them ticked."""
        return {field_name(question) for question in self.questions if self.prefers_not(question)}

    @property
    def untouched_sliders(self) -> set[str]:
        """The slider fields that carry no answer (never moved), for the page to show them so."""
        return {
            field_name(question)
            for question in self.questions
            if question.kind == Question.Kind.SLIDER and self[field_name(question)].value() in (None, "")
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for question in self.questions:
            name = field_name(question)
            if name in self.errors:
                continue
            value = dict(PREFER_NOT_TO_SAY) if self.prefers_not(question) else cleaned.get(name)
            try:
                cleaned[name] = validate_answer_value(question, value)
            except ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def answers(self) -> dict[int, Any]:
        """The cleaned answers keyed by question id, for ``questionnaire_submit``."""
        return {question.pk: self.cleaned_data.get(field_name(question)) for question in self.questions}
