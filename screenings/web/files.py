"""Serving stimulus and result files with HTTP range requests, so a video player can seek and resume."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator

from django.core.files import File
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse

RANGE_PATTERN = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK_BYTES = 256 * 1024


def _parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(first, last) for one satisfiable range; None when there is no usable header; False when unsatisfiable."""
    match = RANGE_PATTERN.match(header.strip())
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:
        # "bytes=-N" asks for the last N bytes.
        length = int(last_text)
        if length == 0:
            return False
        return max(0, size - length), size - 1
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        return False
    return first, last


def _read_slice(file: File, first: int, last: int) -> Iterator[bytes]:
    with file.open("rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def ranged_file_response(request: HttpRequest, file: File) -> HttpResponse:
    """A response for ``file`` honouring a single ``Range: bytes=`` header (206), or the whole file (200)."""
    size = file.size
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    wanted = _parse_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(file.open("rb"), content_type=content_type)
    else:
        first, last = wanted
        response = StreamingHttpResponse(_read_slice(file, first, last), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def stored_file_response(request: HttpRequest, file: FieldFile, *, missing: str) -> HttpResponse:
    """``ranged_file_response`` for a model's stored file; 404 with ``missing`` when none is stored or it is gone."""
    if not file or not file.storage.exists(file.name):
        raise Http404(missing)
    return ranged_file_response(request, file)
