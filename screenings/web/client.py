"""What the pages' scripts are told: one configuration object per page, written with ``json_script``.

The scripts under static/js/ hold no copy of a server rule. The close codes, the slot epsilon,
the emotions and their colours and the frame limits reach them from their Python definitions
here, so the browser and the server cannot disagree about them.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from inference import EMOTION_COLOURS, EMOTIONS
from screenings import selectors
from screenings.capture.protocol import CLOSE_NOT_ALLOWED, CLOSE_REPLACED, CLOSE_UNKNOWN, CaptureLimits
from screenings.models import MediaAnalysis, Participant, Screening
from screenings.rules.camera import FACE_CHECKS_PER_MINUTE, NO_FACE_SAMPLES_BEFORE_NOTICE
from screenings.rules.slots import SLOT_EPSILON, capture_offset, slot_width


def close_codes() -> dict[str, int]:
    """The websocket close codes after which a page stops reconnecting (docs/protocol.md)."""
    return {"unknown": CLOSE_UNKNOWN, "notAllowed": CLOSE_NOT_ALLOWED, "replaced": CLOSE_REPLACED}


def shares_screen(screening: Screening) -> bool:
    return screening.capture_source == Screening.CaptureSource.SCREEN


def face_check_every_ms() -> int:
    """How often a page sends a preview frame to be checked: a quarter slower than the check's rate limit."""
    return round(60_000 / FACE_CHECKS_PER_MINUTE * 1.25)


def camera_client_config(participant: Participant) -> dict[str, Any]:
    """The camera check page: which picture source to ask the browser for, and where preview frames are checked."""
    screening = participant.screening
    return {
        "shareScreen": shares_screen(screening),
        "checkUrl": reverse("participant-camera-check", args=[participant.token]),
        "checkEveryMs": face_check_every_ms(),
        "requireFaceCheck": screening.require_face_check,
        "faceSeen": participant.face_checked_at is not None,
        "maxFrameSide": CaptureLimits.from_settings().max_side,
    }


def capture_client_config(participant: Participant) -> dict[str, Any]:
    """The watch page: where frames and the playback position go, and the rules they follow."""
    screening = participant.screening
    token = participant.token
    return {
        "shareScreen": shares_screen(screening),
        "socketPath": f"/ws/capture/{token}/",
        "framePostUrl": reverse("capture-frame", args=[token]),
        "positionUrl": reverse("participant-watch-position", args=[token]),
        "finishedUrl": reverse("participant-watch-finished", args=[token]),
        "afterUrl": reverse("participant-after", args=[token]),
        "resumeAt": participant.watch_position,
        "samplingInterval": slot_width(screening),
        "captureOffset": capture_offset(token, slot_width(screening)),
        "slotEpsilon": SLOT_EPSILON,
        "maxFrameSide": CaptureLimits.from_settings().max_side,
        "closeCodes": close_codes(),
        "noFaceAfter": NO_FACE_SAMPLES_BEFORE_NOTICE,
        "pauseWithoutFace": screening.pause_without_face,
        "faceCheckUrl": reverse("participant-camera-check", args=[token]),
        "checkEveryMs": face_check_every_ms(),
    }


def live_client_config(screening: Screening) -> dict[str, Any]:
    """The live view: its socket, how to draw the emotions, and the participants and timeline so far."""
    return {
        "socketPath": f"/ws/live/{screening.pk}/",
        "emotions": list(EMOTIONS),
        "colours": EMOTION_COLOURS,
        "interval": slot_width(screening),
        "slotEpsilon": SLOT_EPSILON,
        "duration": screening.stimulus_duration,
        "closeCodes": close_codes(),
        "participants": selectors.live_participants(screening=screening),
        "timeline": selectors.audience_running_mean(screening=screening),
    }


def analysis_client_config(analysis: MediaAnalysis) -> dict[str, Any]:
    """The media-analysis page: where to poll, the status names, and which statuses are final."""
    return {
        "status_url": reverse("api-analysis-detail", args=[analysis.pk]),
        "status_labels": list(MediaAnalysis.Status.choices),
        "finished_statuses": list(MediaAnalysis.FINISHED),
    }


def organizer_stimulus_src(screening: Screening) -> str | None:
    """Where an organizer's page plays the stimulus: the permission-checked upload, else the external address.

    A relative address, so the video comes from the page's own origin with the organizer's session.
    """
    if screening.stimulus:
        return reverse("organizer-stimulus", args=[screening.pk])
    return screening.stimulus_url or None


def _chart_scenes(scenes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"start": scene["start"], "end": scene["end"], "label": scene["label"]} for scene in scenes]


def report_client_config(screening: Screening, report: dict[str, Any]) -> dict[str, Any]:
    """The screening report's curves, straight from the report's JSON, and the stimulus replayed beside them.

    The timeline is the report's own (binned and smoothed as the page's options say), so the
    curves and the downloads cannot disagree; a bin carrying ``lower``/``upper`` per emotion
    gets its confidence band drawn.
    """
    return {
        "emotions": report["emotions"],
        "colours": EMOTION_COLOURS,
        "duration": screening.stimulus_duration,
        "timeline": report["timeline"],
        "scenes": _chart_scenes(report["scenes"]),
        "stimulusSrc": organizer_stimulus_src(screening),
    }


def segment_comparison_client_config(screening: Screening, compared: list[dict[str, Any]]) -> dict[str, Any]:
    """The segments compared on the report page: each one's name, colour and timeline, from its report's JSON."""
    return {
        "emotions": list(EMOTIONS),
        "colours": EMOTION_COLOURS,
        "duration": screening.stimulus_duration,
        "segments": [
            {"name": entry["segment"]["name"], "colour": entry["colour"], "timeline": entry["timeline"]}
            for entry in compared
        ],
    }


def participant_report_client_config(participant: Participant, report: dict[str, Any]) -> dict[str, Any]:
    """A participant's report: their own curve (frames without a face are gaps), the scenes and the stimulus."""
    screening = participant.screening
    return {
        "emotions": list(EMOTIONS),
        "colours": EMOTION_COLOURS,
        "duration": screening.stimulus_duration,
        "samples": report["timeline"],
        "scenes": _chart_scenes(report["scenes"]),
        "stimulusSrc": organizer_stimulus_src(screening),
    }
