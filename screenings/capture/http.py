"""The HTTP fallback of the frame contract: the same frames and answers as the websocket, one POST each."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inference import InvalidImage, read_emotion_sync
from screenings import selectors
from screenings.capture import protocol as capture
from screenings.capture.admission import busy_error, frame_in_flight
from screenings.capture.live import tell_live_view_now
from screenings.capture.rate import frame_allowed
from screenings.models import EmotionSample, Participant

logger = logging.getLogger(__name__)

STATUS_FOR_CODE = {
    "bad_message": 400,
    "bad_image": 400,
    "too_large": 413,
    "rate_limited": 429,
    "wrong_phase": 409,
    "busy": 503,
}


def _error(error: capture.FrameError) -> JsonResponse:
    response = JsonResponse(error.as_message(), status=STATUS_FOR_CODE[error.code])
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


@csrf_exempt  # the participant token in the URL is the credential; there is no session to forge
@require_POST
def frame_post(request: HttpRequest, token: str) -> JsonResponse:
    try:
        return _frame_post(request, token)
    except (OperationalError, InterfaceError):
        # The database cannot be reached (restarting, failing over, refusing connections): nothing was
        # stored, and the frame may be sent again, as the websocket's answer says too.
        logger.warning("a frame over HTTP could not be stored: the database cannot be reached", exc_info=True)
        return _error(busy_error(_seq_or_none(request)))


def _seq_or_none(request: HttpRequest) -> int | None:
    try:
        return capture.parse_seq(int(request.POST.get("seq", "")))
    except (ValueError, capture.FrameError):
        return None


def _frame_post(request: HttpRequest, token: str) -> JsonResponse:
    participant = selectors.participant_by_token(token=token)
    if participant is None:
        return JsonResponse(
            {"type": "error", "seq": None, "code": "unknown_participant", "detail": "unknown link"}, status=404
        )
    limits = capture.CaptureLimits.from_settings()
    try:
        frame = _frame_from_request(request, participant.screening.stimulus_duration, limits)
        if not selectors.capture_allowed(participant):
            raise capture.FrameError("wrong_phase", "this participant is not watching now", frame.seq)
        # The websocket's limit on frames in flight, shared with it: past it, 503 and Retry-After.
        with frame_in_flight(frame.seq):
            sample, created = _read_and_store(participant, frame, limits)
    except capture.FrameError as error:
        return _error(error)
    ack = capture.ack_message(frame.seq, sample)
    if created:
        # As the websocket does: the live view counts stored samples, so a frame sent again is not told.
        tell_live_view_now(
            participant.screening_id,
            {**ack, "event": "sample", "participant": participant.pk, "label": str(participant)},
        )
    return JsonResponse(ack)


def _read_and_store(
    participant: Participant, frame: capture.Frame, limits: capture.CaptureLimits
) -> tuple[EmotionSample, bool]:
    if not frame_allowed(participant, limits):
        raise capture.FrameError("rate_limited", "frames arrive faster than the sampling interval allows", frame.seq)
    try:
        reading = read_emotion_sync(frame.image, max_side=limits.max_side)
    except InvalidImage as error:
        raise capture.image_error(error, frame.seq) from None
    # Checked again under the participant's lock: they may have withdrawn while the frame was read.
    return capture.sample_from_reading(participant=participant, frame=frame, reading=reading)


def _frame_from_request(request: HttpRequest, duration: float | None, limits: capture.CaptureLimits) -> capture.Frame:
    try:
        seq = capture.parse_seq(int(request.POST.get("seq", "")))
    except ValueError:
        raise capture.FrameError("bad_message", "seq must be a whole number, zero or more") from None
    media_time = capture.parse_media_time(request.POST.get("media_time"), duration=duration, seq=seq)
    upload = request.FILES.get("image")
    if upload is None:
        raise capture.FrameError("bad_message", "image is missing: send it as a multipart file field", seq)
    if upload.size > limits.frame_bytes:
        raise capture.FrameError("too_large", f"a frame may be at most {limits.frame_bytes} bytes", seq)
    return capture.Frame(seq=seq, media_time=media_time, image=upload.read())
