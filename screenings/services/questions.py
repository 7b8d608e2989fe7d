"""A screening's questions: created, changed, retired and deleted here only, whichever page or API asks.

Once participants have answered a question, nothing here may change what those answers mean
or delete them (``rules.questions.answered_question_refusals``): such a question can be
retired instead, which stops asking it and keeps and reports its answers.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from screenings.models import Question, Screening
from screenings.rules.errors import DataProtected
from screenings.rules.questions import answered_question_refusals


class AnsweredQuestionChange(DataProtected):
    """A change refused because participants have answered the question; ``refusals`` maps field to reason."""

    def __init__(self, refusals: dict[str, str]) -> None:
        super().__init__(" ".join(refusals.values()))
        self.refusals = refusals


def answered_phases(question: Question) -> set[str]:
    """The phases in which participants have answered ``question`` (empty: no answers)."""
    if question.pk is None:
        return set()
    return set(question.answers.values_list("phase", flat=True).distinct())


def question_change_refusals(question: Question, changes: dict[str, Any]) -> dict[str, str]:
    """Why each change may not be made to ``question`` as it is stored now (empty: all allowed)."""
    phases = answered_phases(question)
    if not phases:
        return {}
    stored = Question.objects.get(pk=question.pk)
    return answered_question_refusals(stored, changes, answered_phases=phases)


def question_create(*, screening: Screening, **fields: Any) -> Question:
    """Add a question to ``screening``; a definition that cannot be answered (no choices...) is refused."""
    question = Question(screening=screening, **fields)
    question.clean()
    question.save()
    return question


def question_update(*, question: Question, **changes: Any) -> Question:
    """Change the given fields of a question and save only those; see the module's rule for answered ones."""
    with transaction.atomic():
        # The row lock makes the check and the write one step against a participant answering meanwhile.
        Question.objects.select_for_update().filter(pk=question.pk).exists()
        refusals = question_change_refusals(question, changes)
        if refusals:
            raise AnsweredQuestionChange(refusals)
        for field, value in changes.items():
            setattr(question, field, value)
        question.clean()
        if changes:
            question.save(update_fields=list(changes))
    return question


def question_delete(*, question: Question) -> None:
    """Delete a question nobody has answered; an answered one is refused (retire it instead)."""
    with transaction.atomic():
        Question.objects.select_for_update().filter(pk=question.pk).exists()
        count = question.answers.count()
        if count:
            raise DataProtected(
                f"{count} answer(s) were given to “{question.text}”: it cannot be deleted. Retire it instead: "
                "it is then no longer asked, and its answers stay in the report."
            )
        question.delete()
