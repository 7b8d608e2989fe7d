"""The segment rules' textarea, carrying what the rule builder (static/js/admin-segment-rules.js) offers.

The textarea stays the field that is submitted and checked (``services.segment_fields_checked``):
the builder only writes its JSON, so the page works as before with scripts off.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms

from screenings.models import Question
from screenings.rules.questions import CHOICE_KINDS, LIKERT_POINTS, SLIDER_RANGE, QuestionKind
from screenings.rules.segments import CAPTURE_LIVE, CAPTURE_RECORDING, rule_text


def rule_builder_question(question: Question) -> dict[str, Any]:
    """One question as the builder offers it: what it asks, when, and the answers a rule can match."""
    kind = QuestionKind(question.kind)
    offered: dict[str, Any] = {
        "id": question.pk,
        "text": question.text,
        "kind": kind.value,
        "kindLabel": kind.label,
        "phase": question.phase,
        "retired": question.retired,
    }
    if kind in CHOICE_KINDS:
        offered["choices"] = list(question.choices)
    elif kind in LIKERT_POINTS:
        offered["points"] = LIKERT_POINTS[kind]
    elif kind == QuestionKind.SLIDER:
        offered["min"], offered["max"] = SLIDER_RANGE
    else:
        offered["min"], offered["max"] = question.min_value, question.max_value
    return offered


def rule_builder_data(questions: Iterable[Question]) -> dict[str, Any]:
    """What the builder needs: the questions a rule may name (free text cannot be) and the capture sources."""
    return {
        "questions": [rule_builder_question(question) for question in questions if question.kind != QuestionKind.TEXT],
        "captures": [
            {"value": source, "label": rule_text({"capture": source}, {})}
            for source in (CAPTURE_LIVE, CAPTURE_RECORDING)
        ],
    }


class SegmentRulesWidget(forms.Textarea):
    """The rules' JSON textarea, with the screening's questions in a data attribute for the builder.

    A data attribute rather than a ``json_script``: each row of the inline, and the empty row the
    admin copies for "Add another Segment", carries its own, so no id is repeated on the page.
    """

    class Media:
        js = ["js/admin-segment-rules.js"]
        css = {"all": ["css/admin-segment-rules.css"]}

    def __init__(self, questions: Iterable[Question] = (), attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"rows": 3, "cols": 60, **(attrs or {})})
        self.builder_data = rule_builder_data(questions)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-segment-rules"] = json.dumps(self.builder_data, ensure_ascii=False)
        return context
