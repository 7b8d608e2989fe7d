"""Organizer pages for media analyses: upload images, a video or labelled faces, follow the job, see and download
results."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.files import File
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from screenings import selectors
from screenings.analyses import jobs, storage
from screenings.analyses.progress import analysis_progress
from screenings.forms.analyses import ImagesForm, LabelledForm, RecordingForm, VideoForm
from screenings.models import MediaAnalysis
from screenings.web.client import analysis_client_config
from screenings.web.files import ranged_file_response
from screenings.web.found import or_404

LIST_TEMPLATE = "screenings/organizer/analyses.html"


def _list_context(request: HttpRequest, **forms: object) -> dict:
    return {
        "analyses": MediaAnalysis.objects.for_organizer(request.user).select_related("screening")[:100],
        "images_form": forms.get("images_form") or ImagesForm(),
        "video_form": forms.get("video_form") or VideoForm(),
        "labelled_form": forms.get("labelled_form") or LabelledForm(),
    }


@staff_member_required
@require_GET
def analyses_page(request: HttpRequest) -> HttpResponse:
    return render(request, LIST_TEMPLATE, _list_context(request))


def _upload(
    request: HttpRequest, form: ImagesForm | VideoForm | LabelledForm, name: str, create: Callable[..., MediaAnalysis]
) -> HttpResponse:
    """Queue a valid upload and show its page; otherwise the list page again with the errors (400)."""
    if form.is_valid():
        try:
            analysis = create(owner=request.user, **form.cleaned_data)
        except storage.UploadRefused as error:
            form.add_error(None, str(error))
        else:
            return redirect("organizer-analysis", analysis_id=analysis.pk)
    return render(request, LIST_TEMPLATE, _list_context(request, **{name: form}), status=400)


@staff_member_required
@require_POST
def images_upload(request: HttpRequest) -> HttpResponse:
    form = ImagesForm(request.POST, request.FILES)
    return _upload(request, form, "images_form", jobs.analysis_create_images)


@staff_member_required
@require_POST
def video_upload(request: HttpRequest) -> HttpResponse:
    form = VideoForm(request.POST, request.FILES)
    return _upload(request, form, "video_form", jobs.analysis_create_video)


@staff_member_required
@require_POST
def labelled_upload(request: HttpRequest) -> HttpResponse:
    form = LabelledForm(request.POST, request.FILES)
    return _upload(request, form, "labelled_form", jobs.analysis_create_labelled)


@staff_member_required
def recording_upload(request: HttpRequest, screening_id: int) -> HttpResponse:
    """Attach a recorded video of a participant; its samples join the screening's reports."""
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    form = RecordingForm(request.POST or None, request.FILES or None, screening=screening)
    if request.method == "POST" and form.is_valid():
        try:
            analysis = jobs.analysis_create_recording(owner=request.user, screening=screening, **form.cleaned_data)
        except storage.UploadRefused as error:
            form.add_error(None, str(error))
        else:
            return redirect("organizer-analysis", analysis_id=analysis.pk)
    status = 400 if request.method == "POST" else 200
    recordings = screening.recordings.for_organizer(request.user).select_related("participant")
    return render(
        request,
        "screenings/organizer/recording_upload.html",
        {"screening": screening, "form": form, "recordings": recordings},
        status=status,
    )


@staff_member_required
@require_GET
def analysis_page(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = or_404(selectors.analysis_for_organizer(user=request.user, pk=analysis_id))
    return render(
        request,
        "screenings/organizer/analysis.html",
        {
            "analysis": analysis,
            "progress": analysis_progress(analysis),
            "outputs": {item["identifier"]: item for item in analysis.outputs},
            "client_config": analysis_client_config(analysis),
            "evaluation": _evaluation(analysis),
        },
    )


def _evaluation(analysis: MediaAnalysis) -> dict | None:
    """A labelled evaluation as its page shows it: the shares as percentages, and one row per emotion with its
    figures and its row of the confusion matrix."""
    result = analysis.result
    if analysis.kind != MediaAnalysis.Kind.LABELLED or "per_class" not in result:
        return None
    shares = ("accuracy", "accuracy_when_found", "face_found_rate")
    return {
        **{name: f"{result[name]:.1%}" for name in shares if result.get(name) is not None},
        "rows": [
            {"emotion": emotion, "figures": figures, "confusion": row}
            for (emotion, figures), row in zip(result["per_class"].items(), result["confusion"], strict=True)
        ],
    }


@staff_member_required
@require_POST
def analysis_cancel(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = or_404(selectors.analysis_for_organizer(user=request.user, pk=analysis_id))
    analysis = jobs.analysis_cancel(analysis=analysis)
    if analysis.status == MediaAnalysis.Status.CANCELLED:
        messages.info(request, "The analysis was cancelled.")
    elif analysis.status == MediaAnalysis.Status.RUNNING:
        messages.info(request, "The analysis stops at its next step.")
    else:
        messages.info(request, "The analysis had already finished.")
    return redirect("organizer-analysis", analysis_id=analysis.pk)


@staff_member_required
@require_POST
def analysis_delete(request: HttpRequest, analysis_id: int) -> HttpResponse:
    analysis = or_404(selectors.analysis_for_organizer(user=request.user, pk=analysis_id))
    jobs.analysis_delete(analysis=analysis)
    messages.info(request, "The analysis and its files were deleted.")
    return redirect("organizer-analyses")


@staff_member_required
@require_GET
def analysis_file(request: HttpRequest, analysis_id: int, name: str) -> HttpResponse:
    """One result file; videos are served with range requests so the player can seek."""
    analysis = or_404(selectors.analysis_for_organizer(user=request.user, pk=analysis_id))
    path = selectors.analysis_output_path(analysis, name)
    if path is None:
        raise Http404("No such result file.")
    response = ranged_file_response(request, File(path.open("rb"), name=str(path)))
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{path.name}"'
    return response
