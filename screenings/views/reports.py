"""Report pages, charts and downloads for the organizers of a screening (anyone else gets 404)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from inference import EMOTIONS
from screenings import selectors, services
from screenings.models import Screening
from screenings.reports import aggregates, charts
from screenings.reports.builder import before_after_items, emotion_by_answer_items, participant_report, screening_report
from screenings.reports.exporters import EXPORTERS
from screenings.reports.options import ReportOptions, ReportOptionsForm
from screenings.reports.segments import compared_rows, segment_comparison
from screenings.selectors.segments import segment_members
from screenings.web.client import (
    participant_report_client_config,
    report_client_config,
    segment_comparison_client_config,
)
from screenings.web.downloads import export_response
from screenings.web.found import or_404
from screenings.web.metrics import report_metrics_context


def _options(request: HttpRequest, screening: Screening) -> tuple[ReportOptionsForm, ReportOptions]:
    form = ReportOptionsForm(request.GET, screening=screening)
    return form, form.options() if form.is_valid() else ReportOptions()


def _bad_options(form: ReportOptionsForm) -> HttpResponse:
    return HttpResponse("bad report options: " + form.errors.as_text(), status=400, content_type="text/plain")


@staff_member_required
@require_GET
def report_page(request: HttpRequest, screening_id: int) -> HttpResponse:
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    form, options = _options(request, screening)
    if form.errors:
        return render(request, "screenings/organizer/report.html", {"screening": screening, "form": form}, status=400)
    report = screening_report(screening, **options.report_arguments())
    arguments = {key: value for key, value in options.report_arguments().items() if key != "segment"}
    compared = segment_comparison(screening, form.compared(), **arguments)
    return render(
        request,
        "screenings/organizer/report.html",
        {"screening": screening, "form": form, "report": report, "emotions": EMOTIONS, "exporters": EXPORTERS.values(),
         "query": request.GET.urlencode(), "chart_config": report_client_config(screening, report),
         "segments": form.segments, "compared": compared, "compared_rows": compared_rows(compared),
         "comparison_config": segment_comparison_client_config(screening, compared) if compared else None,
         **report_metrics_context(screening, report)},
    )  # fmt: skip


@staff_member_required
@require_GET
def chart(request: HttpRequest, screening_id: int, name: str) -> HttpResponse:
    """One chart of the report as PNG: timeline, summary, scenes, question-<id>, answer-<id>."""
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    form, options = _options(request, screening)
    if form.errors:
        return _bad_options(form)
    # Each chart computes only its own aggregate: the page loads several charts at once.
    members = segment_members(options.segment) if options.segment is not None else None
    if name == "timeline":
        bins = aggregates.timeline(screening, bin_seconds=options.bin_seconds, smoothing=options.smoothing,
                                   members=members)  # fmt: skip
        png = charts.timeline_png([{"start": b.start, **b.means} for b in bins])
    elif name == "summary":
        stats = aggregates.participant_sample_stats(screening, members=members)
        png = charts.summary_png(aggregates.reaction_summary_from_stats(screening, stats))
    elif name == "scenes":
        png = charts.scenes_png(aggregates.scene_summaries(screening, members=members))
    elif name.startswith("question-"):
        question = next((q for q in before_after_items(screening, members=members) if q["chart"] == name), None)
        if question is None:
            raise Http404("No such question.")
        png = charts.distribution_png(question)
    elif name.startswith("answer-"):
        table = next((t for t in emotion_by_answer_items(screening, members=members) if t["chart"] == name), None)
        if table is None:
            raise Http404("No such question.")
        emotion = request.GET.get("emotion", "happy")
        if emotion not in EMOTIONS:
            return HttpResponse(f"emotion must be one of {', '.join(EMOTIONS)}", status=400, content_type="text/plain")
        png = charts.emotion_by_answer_png(table, emotion=emotion)
    else:
        raise Http404("No such chart.")
    return HttpResponse(png, content_type="image/png")


@staff_member_required
@require_GET
def download(request: HttpRequest, screening_id: int, identifier: str) -> HttpResponse:
    """A report download, binned and smoothed as the page's query string says (400 for bad options)."""
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    form, options = _options(request, screening)
    if form.errors:
        return _bad_options(form)
    return export_response(screening, identifier, options)


@staff_member_required
@require_GET
def participant_page(request: HttpRequest, screening_id: int, participant_id: int) -> HttpResponse:
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    participant = or_404(selectors.participant_in_screening(screening=screening, pk=participant_id))
    report = participant_report(participant)
    return render(
        request,
        "screenings/organizer/participant_report.html",
        {"screening": screening, "participant": participant, "report": report, "emotions": EMOTIONS,
         "chart_config": participant_report_client_config(participant, report)},
    )  # fmt: skip


@staff_member_required
@require_GET
def participant_chart(request: HttpRequest, screening_id: int, participant_id: int) -> HttpResponse:
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    participant = or_404(selectors.participant_in_screening(screening=screening, pk=participant_id))
    points = [p for p in participant_report(participant)["timeline"] if p["face"]]
    png = charts.timeline_png(points, time_key="media_time", title=f"{participant}: emotion probability against time")
    return HttpResponse(png, content_type="image/png")


@staff_member_required
@require_POST
def participant_exclusion(request: HttpRequest, screening_id: int, participant_id: int) -> HttpResponse:
    """Exclude a participant from (or include them in) every aggregate of the report."""
    screening = or_404(selectors.screening_for_organizer(user=request.user, pk=screening_id))
    participant = or_404(selectors.participant_in_screening(screening=screening, pk=participant_id))
    excluded = request.POST.get("excluded")
    if excluded not in ("0", "1"):
        return HttpResponse("excluded must be 0 or 1", status=400, content_type="text/plain")
    services.participant_exclusion_set(participant=participant, excluded=excluded == "1")
    return redirect("organizer-report", screening_id=screening.pk)
