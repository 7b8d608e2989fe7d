"""Upload forms for media analyses; the limits themselves are checked in ``media_analyses``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from inference import MINIMUM_INTERVAL
from screenings.models import MediaAnalysis, Participant, Screening

INTERVAL_HELP = "Seconds between sampled frames: 0.5, 1, 2, 5 or any value of 0.1 or more."


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            raise forms.ValidationError("Choose at least one image.")
        return [super(MultipleImageField, self).clean(file, initial) for file in files]


class ImagesForm(forms.Form):
    images = MultipleImageField(
        help_text=f"JPEG, PNG, WebP, BMP or GIF; up to {settings.ANALYSIS_MAX_IMAGES} images of "
        f"{settings.ANALYSIS_MAX_IMAGE_MEGABYTES} MB each."
    )


class VideoForm(forms.Form):
    video = forms.FileField(help_text=f"Any common video format, up to {settings.ANALYSIS_MAX_VIDEO_MEGABYTES} MB.")
    interval = forms.FloatField(min_value=MINIMUM_INTERVAL, initial=1, help_text=INTERVAL_HELP)
    faces = forms.ChoiceField(choices=MediaAnalysis.Faces.choices, initial=MediaAnalysis.Faces.ALL)
    annotate_video = forms.BooleanField(
        required=False,
        initial=True,
        label="Annotated video",
        help_text="Also write the video with faces labelled. Every frame is then decoded and encoded again, "
        "which takes about twice as long as the timeline alone.",
    )


class LabelledForm(forms.Form):
    archive = forms.FileField(
        label="Zip of labelled faces",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
        help_text="One folder per emotion, named angry, disgust, fear, happy, sad, surprise or neutral (or anger, "
        "happiness, sadness... as the training command accepts); other folders, such as contempt, are skipped. "
        f"Up to {settings.ANALYSIS_MAX_LABELLED_IMAGES} images and {settings.ANALYSIS_MAX_LABELLED_MEGABYTES} MB.",
    )
    detect_faces = forms.BooleanField(
        required=False,
        initial=True,
        label="Find the face in each image",
        help_text="On: each image is searched for its face, which is aligned and cropped as in live capture; an image "
        "without a face counts as wrong. Off: each image is a face already (a crop like FER2013's) and is read whole.",
    )


class RecordingForm(forms.Form):
    video = forms.FileField(help_text="The participant filmed while watching the stimulus.")
    participant = forms.ModelChoiceField(
        queryset=Participant.objects.none(),
        required=False,
        empty_label="A new participant",
        help_text="Whose samples the recording gives.",
    )
    participant_label = forms.CharField(
        max_length=200, required=False, label="New participant's label", help_text="E.g. the lab session's code."
    )
    offset = forms.FloatField(
        initial=0,
        help_text="The stimulus time, in seconds, at the recording's first frame; negative when the "
        "recording started before the stimulus.",
    )
    annotate_video = forms.BooleanField(required=False, initial=True, label="Annotated video")

    def __init__(self, *args: Any, screening: Screening, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["participant"].queryset = screening.participants.filter(erased_at__isnull=True).exclude(
            state__in=[Participant.State.WITHDRAWN, Participant.State.DECLINED]
        )
