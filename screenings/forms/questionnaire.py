"""The participant-facing questionnaire: one form field per question, cleaned by the answer rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from screenings.models import Question
from screenings.rules.questions import LIKERT_POINTS, MAX_TEXT_ANSWER_LENGTH, SLIDER_RANGE, validate_answer_value


def field_name(question: Question) -> str:
    return f"q{question.pk}"


def _form_field(question: Question) -> forms.Field:
    common: dict[str, Any] = {"label": question.text, "required": question.required, "help_text": question.help_text}
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
        return forms.IntegerField(
            min_value=low,
            max_value=high,
            widget=forms.NumberInput(attrs={"type": "range", "min": low, "max": high}),
            **common,
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
            self.fields[field_name(question)] = field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for question in self.questions:
            name = field_name(question)
            if name in self.errors:
                continue
            try:
                cleaned[name] = validate_answer_value(question, cleaned.get(name))
            except ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def answers(self) -> dict[int, Any]:
        """The cleaned answers keyed by question id, for ``questionnaire_submit``."""
        return {question.pk: self.cleaned_data.get(field_name(question)) for question in self.questions}
