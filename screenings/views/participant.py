"""The participant journey: consent, before questionnaire, camera check, watching, after questionnaire, thanks.

Every page belongs to one phase. A participant who asks for another phase's page is sent
to the page of the phase they are in, so nothing can be skipped or repeated and a reload
resumes where they left off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inference import InvalidImage, face_visibility
from screenings import services
from screenings.capture import protocol as capture
from screenings.forms.questionnaire import QuestionnaireForm
from screenings.models import Participant, Question, Screening
from screenings.rules.camera import FACE_CHECKS_PER_MINUTE, face_check_verdict
from screenings.selectors import participant_by_token, questions_for_phase, returning_participant, screening_by_slug
from screenings.web.client import camera_client_config, capture_client_config
from screenings.web.files import ranged_file_response
from screenings.web.found import or_404
from screenings.web.throttle import client_address, throttle_allows

State = Participant.State
STEP_FOR_STATE: dict[str, str] = {
    State.INVITED: "participant-consent",
    State.CONSENTED: "participant-before",
    State.BEFORE_DONE: "participant-camera",
    State.WATCHING: "participant-watch",
    State.WATCHED: "participant-after",
    State.AFTER_DONE: "participant-done",
    State.COMPLETED: "participant-done",
    State.DECLINED: "participant-ended",
    State.WITHDRAWN: "participant-ended",
}
ParticipantView = Callable[[HttpRequest, Participant], HttpResponse]


def step_url(participant: Participant) -> str:
    return reverse(STEP_FOR_STATE[participant.state], args=[participant.token])


def unavailable(request: HttpRequest, screening: Screening) -> HttpResponse:
    """The friendly page for a screening that is not open (yet or any more)."""
    return render(request, "screenings/participant/unavailable.html", {"screening": screening}, status=403)


def journey_step(*states: str) -> Callable[[ParticipantView], Callable[..., HttpResponse]]:
    """Serve the view only to participants in one of ``states``; send everyone else to their own step."""

    def decorate(view: ParticipantView) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            participant = or_404(participant_by_token(token=token))
            if not participant.screening.is_open and not participant.has_ended:
                return unavailable(request, participant.screening)
            if participant.state not in states:
                if request.headers.get("Accept", "").startswith("application/json"):
                    return JsonResponse({"error": "wrong_phase", "next": step_url(participant)}, status=409)
                return redirect(step_url(participant))
            try:
                return view(request, participant)
            except services.ScreeningNotOpen:
                return unavailable(request, participant.screening)
            except services.PhaseError:
                # Another tab or a double click moved the participant on meanwhile.
                return redirect(step_url(or_404(participant_by_token(token=token))))

        return wrapper

    return decorate


@require_GET
def participant_entry(request: HttpRequest, token: str) -> HttpResponse:
    """The personal link: go to the page of the phase the participant is in."""
    participant = or_404(participant_by_token(token=token))
    if not participant.screening.is_open and not participant.has_ended:
        return unavailable(request, participant.screening)
    return redirect(step_url(participant))


@require_http_methods(["GET", "POST"])
@journey_step(State.INVITED)
def consent(request: HttpRequest, participant: Participant) -> HttpResponse:
    error = ""
    if request.method == "POST":
        choice = request.POST.get("choice")
        try:
            if choice == "accept":
                participant = services.participant_consent(
                    participant=participant, user_agent=request.headers.get("User-Agent", "")
                )
                return redirect(step_url(participant))
            if choice == "decline":
                participant = services.participant_decline(participant=participant)
                return redirect(step_url(participant))
            error = "Please choose whether you agree to take part."
        except services.QuotaReached as quota_error:
            return render(
                request,
                "screenings/participant/full.html",
                {"screening": participant.screening, "message": quota_error},
            )
    return render(
        request,
        "screenings/participant/consent.html",
        {"participant": participant, "screening": participant.screening, "error": error},
        status=400 if error else 200,
    )


def _questionnaire(request: HttpRequest, participant: Participant, phase: str) -> HttpResponse:
    questions = questions_for_phase(screening=participant.screening, phase=phase)
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, questions=questions)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                participant = services.questionnaire_submit(
                    participant=participant, phase=phase, answers=form.answers()
                )
                return redirect(step_url(participant))
            except services.AnswersInvalid as invalid:
                for question in questions:
                    for message in invalid.errors.get(question.pk, []):
                        form.add_error(f"q{question.pk}", message)
        status = 400
    return render(
        request,
        "screenings/participant/questionnaire.html",
        {
            "participant": participant,
            "screening": participant.screening,
            "form": form,
            "phase": phase,
            "title": "Before you watch" if phase == Question.Phase.BEFORE else "After watching",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@journey_step(State.CONSENTED)
def before_questionnaire(request: HttpRequest, participant: Participant) -> HttpResponse:
    return _questionnaire(request, participant, Question.Phase.BEFORE)


@require_http_methods(["GET", "POST"])
@journey_step(State.WATCHED)
def after_questionnaire(request: HttpRequest, participant: Participant) -> HttpResponse:
    return _questionnaire(request, participant, Question.Phase.AFTER)


@require_http_methods(["GET", "POST"])
@journey_step(State.BEFORE_DONE)
def camera_check(request: HttpRequest, participant: Participant) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            participant = services.watching_start(participant=participant)
            return redirect(step_url(participant))
        except services.FaceNotChecked as refused:
            error = str(refused)
    return render(
        request,
        "screenings/participant/camera.html",
        {
            "participant": participant,
            "screening": participant.screening,
            "camera_config": camera_client_config(participant),
            "error": error,
        },
        status=400 if error else 200,
    )


def _check_error(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@require_POST
@journey_step(State.BEFORE_DONE, State.WATCHING)
def camera_face_check(request: HttpRequest, participant: Participant) -> HttpResponse:
    """One preview frame (multipart ``image``): is the face seen and lit? Nothing is stored but that it was seen."""
    if not throttle_allows(f"face-check:{participant.token}", limit=FACE_CHECKS_PER_MINUTE):
        return _check_error("rate_limited", "Too many pictures were checked in the last minute; wait a little.", 429)
    limits = capture.CaptureLimits.from_settings()
    upload = request.FILES.get("image")
    if upload is None:
        return _check_error("bad_message", "image is missing: send it as a multipart file field", 400)
    if upload.size is None or upload.size > limits.frame_bytes:
        return _check_error("too_large", f"a picture may be at most {limits.frame_bytes} bytes", 413)
    try:
        check = face_check_verdict(face_visibility(upload.read(), max_side=limits.max_side))
    except InvalidImage as error:
        return _check_error("bad_image", str(error), 400)
    if check.face:
        services.face_check_record(participant=participant)
    return JsonResponse(check.as_message())


@require_GET
@journey_step(State.WATCHING)
def watch(request: HttpRequest, participant: Participant) -> HttpResponse:
    screening = participant.screening
    stimulus_src = (
        reverse("participant-stimulus", args=[participant.token]) if screening.stimulus else screening.stimulus_url
    )
    return render(
        request,
        "screenings/participant/watch.html",
        {
            "participant": participant,
            "screening": screening,
            "stimulus_src": stimulus_src,
            "watch_config": capture_client_config(participant),
        },
    )


def _position_from(request: HttpRequest, participant: Participant) -> float:
    """Read the media position from a JSON or form body; a bad value raises ValueError with a reason."""
    if request.content_type == "application/json":
        try:
            body: Any = json.loads(request.body or b"{}")
        except ValueError:
            # Not only JSONDecodeError: a whole number of more than 4,300 digits is a ValueError of its own.
            raise ValueError("the body is not valid JSON") from None
        raw = body.get("position") if isinstance(body, dict) else None
    else:
        raw = request.POST.get("position")
    if raw is None or isinstance(raw, bool):
        raise ValueError("position is required")
    try:
        # The frames' rule for a media time: a number of seconds, at most a little past the stimulus's end.
        return capture.parse_media_time(
            raw, duration=participant.screening.stimulus_duration, seq=None, field="position"
        )
    except capture.FrameError as error:
        raise ValueError(error.detail) from None


@require_POST
@journey_step(State.WATCHING)
def watch_position(request: HttpRequest, participant: Participant) -> HttpResponse:
    try:
        position = _position_from(request, participant)
    except ValueError as error:
        return JsonResponse({"error": "bad_position", "detail": str(error)}, status=400)
    services.watch_position_record(participant=participant, position=position)
    return JsonResponse({"position": position})


@require_POST
@journey_step(State.WATCHING)
def watch_finished(request: HttpRequest, participant: Participant) -> HttpResponse:
    try:
        position = _position_from(request, participant)
    except ValueError as error:
        return JsonResponse({"error": "bad_position", "detail": str(error)}, status=400)
    if not capture.playback_reached_end(position, duration=participant.screening.stimulus_duration):
        return JsonResponse(
            {"error": "not_finished", "detail": "playback has not reached the end of the stimulus"}, status=400
        )
    participant = services.watching_finish(participant=participant, position=position)
    return JsonResponse({"next": step_url(participant)})


@require_GET
@journey_step(State.AFTER_DONE, State.COMPLETED)
def done(request: HttpRequest, participant: Participant) -> HttpResponse:
    if participant.state == State.AFTER_DONE:
        participant = services.participant_complete(participant=participant)
    redirect_url = participant.screening.completion_redirect_url
    if redirect_url:
        return HttpResponseRedirect(redirect_url.replace("{pid}", quote(participant.external_id, safe="")))
    return render(request, "screenings/participant/done.html", {"screening": participant.screening})


@require_GET
def ended(request: HttpRequest, token: str) -> HttpResponse:
    participant = or_404(participant_by_token(token=token))
    if participant.state not in (State.DECLINED, State.WITHDRAWN):
        return redirect(step_url(participant))
    return render(
        request, "screenings/participant/ended.html", {"participant": participant, "screening": participant.screening}
    )


@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, token: str) -> HttpResponse:
    participant = or_404(participant_by_token(token=token))
    if participant.has_ended:
        return redirect(step_url(participant))
    if request.method == "POST":
        services.participant_withdraw(participant=participant)
        return redirect(reverse("participant-ended", args=[participant.token]))
    return render(
        request,
        "screenings/participant/withdraw.html",
        {"participant": participant, "screening": participant.screening},
    )


@require_GET
def stimulus(request: HttpRequest, token: str) -> HttpResponse:
    """The stimulus video, only for participants who are watching (or about to, for the camera check)."""
    participant = or_404(participant_by_token(token=token))
    if participant.state not in (State.WATCHING, State.BEFORE_DONE) or not participant.screening.is_open:
        raise Http404("No stimulus for this link now.")
    if not participant.screening.stimulus:
        raise Http404("This screening's stimulus is an external address.")
    return ranged_file_response(request, participant.screening.stimulus)


# The open link remembers its participant in the browser that joined, so opening it again resumes
# them (as a returning ?pid= does): the participant's token, signed for this screening only.
RETURNING_COOKIE = "participant"
RETURNING_COOKIE_SECONDS = 30 * 24 * 3600


def _returning_salt(screening: Screening) -> str:
    return f"open-link-participant:{screening.pk}"


def _returning(request: HttpRequest, screening: Screening) -> Participant | None:
    """The participant this browser joined ``screening`` as; a missing, tampered or stale cookie is no one."""
    token = request.get_signed_cookie(
        RETURNING_COOKIE, default=None, salt=_returning_salt(screening), max_age=RETURNING_COOKIE_SECONDS
    )
    return returning_participant(screening=screening, token=token) if token else None


def _enter(screening: Screening, participant: Participant) -> HttpResponse:
    response = redirect(reverse("participant-entry", args=[participant.token]))
    response.set_signed_cookie(
        RETURNING_COOKIE,
        participant.token,
        salt=_returning_salt(screening),
        max_age=RETURNING_COOKIE_SECONDS,
        path=reverse("screening-join", args=[screening.slug]),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, slug: str) -> HttpResponse:
    """The open link: a landing page, then a new participant (or the returning one: same panel id, or same browser)."""
    screening = or_404(screening_by_slug(slug=slug))
    if not screening.is_open:
        return unavailable(request, screening)
    external_id = (request.POST.get("pid") or request.GET.get("pid") or "").strip()
    known = bool(external_id) and screening.participants.filter(external_id=external_id[:200]).exists()
    # A panel id says who this is; without one, the browser does.
    returning = None if external_id else _returning(request, screening)
    if returning is not None:
        return _enter(screening, returning)
    if request.method == "POST" or known:
        limit = settings.OPEN_LINK_JOINS_PER_MINUTE
        if not known and not throttle_allows(f"open-link-join:{client_address(request)}", limit=limit):
            return render(request, "screenings/participant/too_many.html", {"screening": screening}, status=429)
        try:
            participant = services.participant_join(
                screening=screening, external_id=external_id, user_agent=request.headers.get("User-Agent", "")
            )
        except services.QuotaReached as quota_error:
            return render(request, "screenings/participant/full.html", {"screening": screening, "message": quota_error})
        except services.ScreeningNotOpen:
            return unavailable(request, screening)
        return _enter(screening, participant)
    return render(request, "screenings/participant/join.html", {"screening": screening, "pid": external_id})
