"""The rows every download shares: samples (read from the database in batches), participants, answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, IntegerField, Value, When
from django.db.models.functions import Cast, Round

from inference import EMOTIONS
from screenings.models import Question, Screening, Segment
from screenings.reports import aggregates
from screenings.reports.exporters.safety import spreadsheet_safe, spreadsheet_safe_sql
from screenings.reports.options import ReportOptions
from screenings.rules.questions import answer_text
from screenings.selectors import reports as selectors
from screenings.selectors.reports import Members
from screenings.selectors.segments import segment_memberships

# The samples downloads' columns, in this order. New columns go at the end so that scripts
# reading the older columns by position keep working. The saved segments' membership columns
# (``segment_column``: one per segment, 1 where the sample's participant belongs to it) follow
# ``model_version``.
SAMPLE_COLUMNS = [
    "participant", "label", "external_id", "media_time", "face_found", *EMOTIONS, "dominant_emotion",
    "looking_at_screen", "scene", "model_version",
]  # fmt: skip
SAMPLE_DECIMALS = 4
SEGMENT_COLUMN_PREFIX = "segment:"


def segment_column(segment: Segment) -> str:
    """The membership column of a saved segment: ``segment:<name>``."""
    return SEGMENT_COLUMN_PREFIX + segment.name


@dataclass(frozen=True)
class Audience:
    """Whose rows a download holds, and who is in each saved segment (for the membership columns).

    ``members``: the chosen segment's participants (None: everyone); ``memberships``: every saved
    segment of the screening with its members, read once per download.
    """

    members: Members
    memberships: tuple[tuple[Segment, frozenset[int]], ...] = ()

    @classmethod
    def of(cls, screening: Screening, options: ReportOptions) -> Audience:
        """The audience of ``options`` (its segment, if any) with every saved segment's members."""
        memberships = tuple(segment_memberships(screening))
        chosen = options.segment
        members = None if chosen is None else next(m for segment, m in memberships if segment.pk == chosen.pk)
        return cls(members, memberships)

    def segment_columns(self) -> list[str]:
        return [segment_column(segment) for segment, _ in self.memberships]

    def memberships_of(self, participant_id: int) -> list[bool]:
        """Whether the participant is in each saved segment, in the order of ``segment_columns``."""
        return [participant_id in members for _, members in self.memberships]


EVERYONE = Audience(None)


def sample_columns(audience: Audience) -> list[str]:
    """The samples downloads' header: SAMPLE_COLUMNS, then a membership column per saved segment."""
    return [*SAMPLE_COLUMNS, *audience.segment_columns()]


def _membership_sql(members: frozenset[int]) -> Case:
    """1 where the sample's participant is among ``members``, else 0 (no member: always 0)."""
    return Case(When(participant_id__in=sorted(members), then=Value(1)), default=Value(0), output_field=IntegerField())


def _scene_label_sql(screening: Screening) -> Case | Value:
    """The label of the scene whose ``[start, end)`` holds the sample's media time; empty when none does.

    Scenes are few, so one CASE over them costs the database less than a look-up per sample;
    where scenes overlap, the first by start wins.
    """
    scenes = selectors.screening_scenes(screening)
    if not scenes:
        return Value("", output_field=CharField())
    return Case(
        *(
            When(media_time__gte=scene.start, media_time__lt=scene.end, then=Value(spreadsheet_safe(scene.label)))
            for scene in scenes
        ),
        default=Value(""), output_field=CharField(),
    )  # fmt: skip


def sample_batches(screening: Screening, *, audience: Audience = EVERYONE, size: int = 10_000) -> Iterator[list[tuple]]:
    """Every included sample of ``audience`` as rows of ``sample_columns``, ``size`` rows at a time, from the database.

    The database turns face_found and looking_at_screen into 0 or 1 (looking_at_screen empty
    where it is not known) and labels each sample with its scene, rounds the probabilities to
    SAMPLE_DECIMALS and makes typed text inert (``spreadsheet_safe``), as the CSV and the
    workbook need (Parquet reads the values exactly as stored: selectors.sample_tables). The rows
    go to the writer as the cursor returns them: at hundreds of thousands of samples, doing any
    of this per row in Python would cost more than the query. PostgreSQL reads through a
    server-side cursor, so memory stays flat whatever the size. Segment membership is computed
    there too, one CASE per saved segment.
    """
    text = [spreadsheet_safe_sql("participant__label"), spreadsheet_safe_sql("participant__external_id")]
    probabilities = [Round(emotion, SAMPLE_DECIMALS) for emotion in EMOTIONS]
    memberships = [_membership_sql(members) for _, members in audience.memberships]
    queryset = (
        selectors.included_samples(screening, members=audience.members)
        .order_by("participant_id", "media_time")
        .values_list(
            "participant_id", *text, "media_time", Cast("face_found", IntegerField()), *probabilities,
            "dominant_emotion", Cast("looking_at_screen", IntegerField()),
            _scene_label_sql(screening), "model_version", *memberships,
        )
    )  # fmt: skip
    sql, params = queryset.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows


def sample_rows(screening: Screening, *, audience: Audience = EVERYONE) -> Iterator[tuple]:
    """Every included sample of ``audience`` as a row of ``sample_columns``, for spreadsheets."""
    for batch in sample_batches(screening, audience=audience):
        yield from batch


def answer_value(value: Any) -> Any:
    """An answer for a cell: a number stays a number, anything else is text made inert (empty when unanswered)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return spreadsheet_safe(answer_text(value))


def participant_rows(screening: Screening, *, audience: Audience = EVERYONE) -> tuple[list[str], list[list[Any]]]:
    """One row per included participant of ``audience``: before answers, emotion summary, after answers, when
    they watched, then whether they are in each saved segment.

    Numbers stay numbers and times are ``datetime``; the CSV writes them as text, the workbook as typed cells.
    """
    questions = selectors.screening_questions(screening)
    before = [q for q in questions if q.asked_in(Question.Phase.BEFORE)]
    after = [q for q in questions if q.asked_in(Question.Phase.AFTER)]
    stats = selectors.participant_sample_stats(screening, members=audience.members)
    quality = {row.participant_id: row for row in aggregates.data_quality(screening, stats=stats,
                                                                          members=audience.members)}  # fmt: skip
    means = aggregates.emotion_means_by_participant(screening, stats=stats)
    answers = selectors.answer_values(screening)
    header = ["participant", "label", "external_id", "state", "samples", "face_rate"]
    header += [f"before: {q.text}" for q in before] + [f"mean {e}" for e in EMOTIONS]
    header += [f"after: {q.text}" for q in after] + ["watch_started_at", "completed_at"]
    header += audience.segment_columns()
    rows = []
    for participant in selectors.included_participants(screening, members=audience.members):
        row_quality = quality.get(participant.pk)
        face_rate = row_quality.face_rate if row_quality else None
        emotion = means.get(participant.pk, {})
        row: list[Any] = [
            participant.pk,
            spreadsheet_safe(participant.label),
            spreadsheet_safe(participant.external_id),
        ]
        row.append(participant.state)
        row += [row_quality.samples if row_quality else 0, "" if face_rate is None else round(face_rate, 4)]
        row += [answer_value(answers.get((participant.pk, q.pk, "before"))) for q in before]
        row += [round(emotion[e], 4) if e in emotion else "" for e in EMOTIONS]
        row += [answer_value(answers.get((participant.pk, q.pk, "after"))) for q in after]
        row += [_moment(participant.watch_started_at), _moment(participant.completed_at)]
        row += audience.memberships_of(participant.pk)
        rows.append(row)
    return header, rows


def _moment(value: datetime | None) -> datetime | str:
    return "" if value is None else value
