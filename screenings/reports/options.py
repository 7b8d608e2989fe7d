"""The report's options as organizers send them (query parameters), checked with clear messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from screenings.models import Screening, Segment
from screenings.reports.aggregates import DEFAULT_QUALITY_THRESHOLD, bin_slots
from screenings.selectors.segments import screening_segments, segment_in_screening

# The largest id a 64-bit primary key holds; a larger one would overflow the database driver.
MAX_DATABASE_ID = 2**63 - 1
# A comparison puts this many segments side by side, at least and at most.
COMPARED_SEGMENTS = (2, 4)


@dataclass(frozen=True)
class ReportOptions:
    """What the organizer chose for a report: the page, its JSON and every download take it whole.

    An option added here reaches the builder and every exporter without changing their
    signatures: they receive ``ReportOptions`` and pass ``report_arguments()`` on. ``segment``
    restricts every figure and download to that segment's participants (None: everyone).
    """

    bin_seconds: float | None = None
    smoothing: int = 1
    threshold: float = DEFAULT_QUALITY_THRESHOLD
    segment: Segment | None = None

    def report_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``screening_report``."""
        # Not dataclasses.asdict: it would deep-copy the segment's model instance.
        return {"bin_seconds": self.bin_seconds, "smoothing": self.smoothing, "threshold": self.threshold,
                "segment": self.segment}  # fmt: skip


class ReportOptionsForm(forms.Form):
    bin = forms.FloatField(
        required=False, min_value=0.1, max_value=3600, label="Time bin (s)",
        help_text="The screening's sampling interval or a whole multiple of it; empty: the sampling interval.",
    )  # fmt: skip
    smoothing = forms.IntegerField(required=False, min_value=1, max_value=31, initial=1, label="Smoothing (bins)")
    threshold = forms.FloatField(
        required=False, min_value=0, max_value=100, initial=round(DEFAULT_QUALITY_THRESHOLD * 100),
        label="Face-found threshold (%)",
        help_text="Participants whose face was found in fewer than this percentage of their frames are flagged.",
    )  # fmt: skip

    segment = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_DATABASE_ID, label="Segment",
        help_text="Only this segment's participants, in every figure and download; empty: everyone.",
    )  # fmt: skip
    compare = forms.TypedMultipleChoiceField(
        required=False, coerce=int, label="Compare segments", widget=forms.CheckboxSelectMultiple,
        help_text=f"{COMPARED_SEGMENTS[0]} to {COMPARED_SEGMENTS[1]} segments side by side.",
    )  # fmt: skip

    def __init__(self, data: Any = None, *, screening: Screening) -> None:
        super().__init__(data)
        self.screening = screening
        self.sampling_interval = float(screening.sampling_interval)
        self.segments = screening_segments(screening)
        choices = [(segment.pk, segment.name) for segment in self.segments]
        # The page offers the screening's segments; the API and downloads take the id.
        self.fields["segment"].widget = forms.Select(choices=[("", "All participants"), *choices])
        self.fields["compare"].choices = choices  # type: ignore[attr-defined]
        if not choices:
            # Nothing to choose on the page; an id sent anyway is still refused by ``clean_segment``.
            self.fields["segment"].widget = forms.HiddenInput()
            del self.fields["compare"]

    def clean_segment(self) -> Segment | None:
        value = self.cleaned_data.get("segment")
        if value is None:
            return None
        segment = segment_in_screening(screening=self.screening, pk=value)
        if segment is None:
            raise forms.ValidationError(f"This screening has no segment {value}.")
        return segment

    def clean_compare(self) -> list[Segment]:
        chosen = list(dict.fromkeys(self.cleaned_data.get("compare") or []))
        low, high = COMPARED_SEGMENTS
        if chosen and not low <= len(chosen) <= high:
            raise forms.ValidationError(f"Choose {low} to {high} segments to compare.")
        by_id = {segment.pk: segment for segment in self.segments}
        return [by_id[pk] for pk in chosen]

    def compared(self) -> list[Segment]:
        """The segments chosen for the comparison (none: no comparison); call after ``is_valid()``."""
        return self.cleaned_data.get("compare") or []

    def clean_bin(self) -> float | None:
        value = self.cleaned_data.get("bin")
        if value is not None:
            try:
                bin_slots(self.sampling_interval, value)
            except ValueError as error:
                raise forms.ValidationError(f"The time bin must be a whole multiple of the sampling interval "
                                            f"({self.sampling_interval:g} s).") from error  # fmt: skip
        return value

    def options(self) -> ReportOptions:
        """The options chosen; call after ``is_valid()``."""
        data = self.cleaned_data
        return ReportOptions(
            bin_seconds=data.get("bin"),
            smoothing=data.get("smoothing") or 1,
            threshold=DEFAULT_QUALITY_THRESHOLD if data.get("threshold") is None else data["threshold"] / 100,
            segment=data.get("segment"),
        )
