"""The report's options as organizers send them (query parameters), checked with clear messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django import forms

from screenings.models import Screening
from screenings.reports.aggregates import DEFAULT_QUALITY_THRESHOLD, bin_slots


@dataclass(frozen=True)
class ReportOptions:
    """What the organizer chose for a report: the page, its JSON and every download take it whole.

    An option added here (a segment, later) reaches the builder and every exporter without
    changing their signatures: they receive ``ReportOptions`` and pass ``report_arguments()`` on.
    """

    bin_seconds: float | None = None
    smoothing: int = 1
    threshold: float = DEFAULT_QUALITY_THRESHOLD

    def report_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``screening_report``."""
        return asdict(self)


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

    def __init__(self, data: Any = None, *, screening: Screening) -> None:
        super().__init__(data)
        self.sampling_interval = float(screening.sampling_interval)

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
        )
