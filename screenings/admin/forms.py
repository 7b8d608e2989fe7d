"""The admin's forms: questions typed the way researchers write them, and a stimulus upload kept across errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from screenings import services
from screenings.admin.segment_rules import SegmentRulesWidget


class ChoicesField(forms.CharField):
    """A choice question's options, typed one per line (stored as the list the model keeps)."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 40})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(str(choice) for choice in value)
        return super().prepare_value(value)

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial or []) != self.to_python(data)


class QuestionForm(forms.ModelForm):
    """A question in the screening's inline: a change that would reinterpret given answers is refused here."""

    choices = ChoicesField(required=False, help_text="Single and multiple choice: one option per line.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk is not None and self.has_changed():
            changes = {field: cleaned.get(field) for field in self.changed_data if field in cleaned}
            for field, reason in services.question_change_refusals(self.instance, changes).items():
                self.add_error(field if field in self.fields else None, reason)
        return cleaned


class SegmentForm(forms.ModelForm):
    """A segment in the screening's inline: its rules as JSON (typed, or written by the rule builder), checked by
    the service that saves them."""

    rules = forms.JSONField(
        required=False, initial=list, widget=SegmentRulesWidget(),
        help_text="Rules all of which a member meets. Build them with “Add a rule” (with scripts on; the JSON they "
                  "make is under “Edit as JSON”), or type them as a JSON list, e.g. "
                  '[{"question": 12, "in": ["Weekly"]}, {"question": 14, "min": 4}]; also {"panel_id": [...]}, '
                  '{"label": [...]}, {"capture": "live"} or "recording", {"min_face_rate": 0.8}; '
                  '"phase": "before"/"after" for a question asked in both.',
    )  # fmt: skip
    # Set by the inline to the screening being edited (None while it is new).
    screening: Any = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.has_error("rules") or self.has_error("name") or cleaned.get("DELETE") or not self.has_changed():
            return cleaned
        if self.screening is None or self.screening.pk is None:
            self.add_error(None, "Save the screening first, then define its segments.")
            return cleaned
        existing = self.instance if self.instance.pk is not None else None
        try:
            checked = services.segment_fields_checked(
                screening=self.screening, segment=existing, name=cleaned.get("name"), rules=cleaned.get("rules") or []
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return cleaned
        cleaned.update(checked)
        return cleaned


class ScreeningAdminForm(forms.ModelForm):
    """The screening form; a stimulus chosen on a submission that had errors is kept for the next one.

    Browsers cannot fill a file input back in, so the upload is held on the server
    (``services.stimulus_upload_hold``) and the form carries a signed token for it.
    """

    held_stimulus = forms.CharField(widget=forms.HiddenInput, required=False)

    def full_clean(self) -> None:
        if self.is_bound and not self.files.get("stimulus"):
            self._use_held_stimulus()
        super().full_clean()
        if self.is_bound and self.errors:
            self._hold_uploaded_stimulus()

    def _use_held_stimulus(self) -> None:
        held = services.stimulus_upload_held(token=self.data.get("held_stimulus", ""))
        if held is not None:
            files = self.files.copy()
            files["stimulus"] = held
            self.files = files
            self._note_held(held.name or "the video")

    def _hold_uploaded_stimulus(self) -> None:
        upload = self.files.get("stimulus")
        # A refused stimulus (not a video) is not worth keeping for the next try.
        if not isinstance(upload, UploadedFile) or self.has_error("stimulus"):
            return
        data = self.data.copy()
        data["held_stimulus"] = services.stimulus_upload_hold(upload=upload)
        self.data = data
        self._note_held(upload.name or "the video")

    def _note_held(self, name: str) -> None:
        if "stimulus" in self.fields:
            self.fields["stimulus"].help_text = f"{name} is kept from your last try: you need not choose it again."
            # Bound fields copy their help text when made; the next rendering must see this one.
            self._bound_fields_cache.pop("stimulus", None)

    def release_held_stimulus(self) -> None:
        """Called once the screening has stored its own copy of a held upload."""
        token = self.data.get("held_stimulus", "")
        if token:
            services.stimulus_upload_release(token=token)
