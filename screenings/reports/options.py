"""The report's options as organizers send them (query parameters), checked with clear messages."""

from __future__ import annotations

from django import forms

from screenings.reports.aggregates import DEFAULT_QUALITY_THRESHOLD


class ReportOptionsForm(forms.Form):
    bin = forms.FloatField(
        required=False, min_value=0.1, max_value=3600, label="Time bin (s)",
        help_text="Empty: the screening's sampling interval.",
    )  # fmt: skip
    smoothing = forms.IntegerField(required=False, min_value=1, max_value=31, initial=1, label="Smoothing (bins)")
    threshold = forms.FloatField(
        required=False, min_value=0, max_value=1, initial=DEFAULT_QUALITY_THRESHOLD, label="Face-found threshold"
    )

    def options(self) -> dict[str, float | int | None]:
        """Keyword arguments for ``screening_report``; call after ``is_valid()``."""
        data = self.cleaned_data
        return {
            "bin_seconds": data.get("bin"),
            "smoothing": data.get("smoothing") or 1,
            "threshold": DEFAULT_QUALITY_THRESHOLD if data.get("threshold") is None else data["threshold"],
        }
