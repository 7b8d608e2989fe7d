"""A screening's questions: created, changed and deleted here only, whichever page or API asks."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from screenings.models import Question, Screening


def question_create(*, screening: Screening, **fields: Any) -> Question:
    """Add a question to ``screening``; a definition that cannot be answered (no choices...) is refused."""
    question = Question(screening=screening, **fields)
    question.clean()
    question.save()
    return question


def question_update(*, question: Question, **changes: Any) -> Question:
    """Change the given fields of a question and save only those."""
    for field, value in changes.items():
        setattr(question, field, value)
    question.clean()
    if changes:
        question.save(update_fields=list(changes))
    return question


def question_delete(*, question: Question) -> None:
    """Delete a question."""
    with transaction.atomic():
        question.delete()
