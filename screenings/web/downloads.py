"""A report download as an HTTP response, for the report pages and the API alike."""

from __future__ import annotations

from django.http import Http404, HttpResponse, StreamingHttpResponse

from screenings.models import Screening
from screenings.reports.exporters import EXPORTERS
from screenings.reports.options import ReportOptions


def export_response(screening: Screening, identifier: str, options: ReportOptions) -> HttpResponse:
    """The download named ``identifier`` of a screening the caller may read; streams when the exporter does.

    The caller has found the screening among the user's (404 otherwise) and checked ``options``.
    """
    exporter = EXPORTERS.get(identifier)
    if exporter is None:
        raise Http404("No such download.")
    filename, mimetype, content = exporter.render(screening, options)
    if isinstance(content, bytes):
        response: HttpResponse = HttpResponse(content, content_type=mimetype)
    else:
        response = StreamingHttpResponse(content, content_type=mimetype)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
