"""A report download as an HTTP response, for the report pages and the API alike."""

from __future__ import annotations

from django.http import Http404, HttpResponse, StreamingHttpResponse

from screenings import selectors
from screenings.reports.exporters import EXPORTERS
from screenings.web.found import or_404


def export_response(screening_id: int, identifier: str, user: object) -> HttpResponse:
    """The download named ``identifier`` for the user's screening; streams when the exporter does."""
    screening = or_404(selectors.screening_for_organizer(user=user, pk=screening_id))
    exporter = EXPORTERS.get(identifier)
    if exporter is None:
        raise Http404("No such download.")
    filename, mimetype, content = exporter.render(screening)
    if isinstance(content, bytes):
        response: HttpResponse = HttpResponse(content, content_type=mimetype)
    else:
        response = StreamingHttpResponse(content, content_type=mimetype)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
