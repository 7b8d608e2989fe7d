"""Errors a study's rules raise: each message is meant for the person who made the request."""

from __future__ import annotations


class StudyError(Exception):
    """A request the study's rules do not allow; the message is meant for the person who made it."""


class ScreeningNotOpen(StudyError):
    pass


class QuotaReached(StudyError):
    pass


class PhaseError(StudyError):
    pass


class FaceNotChecked(PhaseError):
    """Watching cannot start: the screening requires the camera check to see the face, and it has not."""


class AnswersInvalid(StudyError):
    def __init__(self, errors: dict[int, list[str]]) -> None:
        super().__init__("Some answers need attention.")
        self.errors = errors


class DataProtected(StudyError):
    """The change would destroy or reinterpret data participants gave (answered 409 by the API)."""
