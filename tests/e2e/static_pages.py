"""The project's static scripts in a real Chromium without a server: a page whose requests are answered from static/."""

from __future__ import annotations

import mimetypes
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
ORIGIN = "http://static.test"


def static_page(browser, body: str = ""):  # type: ignore[no-untyped-def]
    """A page at ``ORIGIN`` holding ``body``, whose /static/... requests get the project's files."""
    page = browser.new_page()

    def answer(route) -> None:  # type: ignore[no-untyped-def]
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/static/"):
            file = STATIC / path.removeprefix("/static/")
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if file.suffix == ".js":
                content_type = "text/javascript"
            route.fulfill(status=200, body=file.read_bytes(), content_type=content_type)
        else:
            route.fulfill(status=200, body=f"<!doctype html><html><body>{body}</body></html>", content_type="text/html")

    page.route(f"{ORIGIN}/**", answer)
    page.goto(f"{ORIGIN}/")
    return page
