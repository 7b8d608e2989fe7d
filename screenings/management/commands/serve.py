"""Serve the site with Daphne, its websocket message limit set from the capture protocol's limits."""

from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from screenings.capture.protocol import CaptureLimits

# Daphne's options for the websocket limits (argparse also takes any abbreviation of them).
LIMIT_OPTION_PREFIX = "--websocket-max"


def daphne_command_line(arguments: list[str]) -> list[str]:
    """Daphne's arguments: the caller's, the websocket limits from ``CaptureLimits``, the ASGI application.

    Daphne's default limit (1 MiB) would drop the connection for frames the protocol allows, before
    the consumer could answer ``too_large`` (docs/protocol.md); so the limits are not the caller's to set.
    """
    if any(argument.startswith(LIMIT_OPTION_PREFIX) for argument in arguments):
        raise CommandError("the websocket limits follow CAPTURE_MAX_FRAME_BYTES: set that variable instead")
    size = str(CaptureLimits.from_settings().server_message_bytes)
    module, name = settings.ASGI_APPLICATION.rsplit(".", 1)
    return [*arguments, "--websocket-max-message-size", size, "--websocket-max-frame-size", size, f"{module}:{name}"]


class Command(BaseCommand):
    help = (
        "Serve the site with Daphne; every argument is Daphne's (e.g. -b 127.0.0.1 -p 8001 --proxy-headers). "
        "The websocket message limit follows CAPTURE_MAX_FRAME_BYTES."
    )

    def run_from_argv(self, argv: list[str]) -> None:
        # Every argument goes to Daphne: Django's own parser would take -h and -v for itself.
        try:
            self.handle(*argv[2:])
        except CommandError as error:
            raise SystemExit(f"CommandError: {error}") from None

    def handle(self, *daphne_arguments: str, **options: Any) -> None:
        CommandLineInterface().run(daphne_command_line(list(daphne_arguments)))
