from django.conf import settings
from django.core.management.base import BaseCommand

from screenings.services.demo import demo_invite_link, demo_screening_load


class Command(BaseCommand):
    help = "Load the demo screening (a generated trailer, questions, scenes) and print the organizer's login."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--base-url",
            default=None,
            help="the address the server is reached at (default: PUBLIC_BASE_URL, else http://127.0.0.1:8000)",
        )

    def handle(self, *args: object, base_url: str | None, **options: object) -> None:
        screening, organizer, password, created = demo_screening_load()
        participant = demo_invite_link(screening)
        base_url = (base_url or settings.PUBLIC_BASE_URL or "http://127.0.0.1:8000").rstrip("/")
        self.stdout.write(self.style.SUCCESS("Demo screening " + ("created" if created else "already there")))
        self.stdout.write(f"  Organizer admin:  {base_url}/admin/   user {organizer.username}   password {password}")
        self.stdout.write(f"  Open link:        {base_url}/s/{screening.slug}/join/")
        self.stdout.write(f"  A personal link:  {base_url}/p/{participant.token}/")
        self.stdout.write(f"  Media analysis:   {base_url}/organizer/analyses/")
        self.stdout.write(f"  API docs:         {base_url}/api/docs/")
        self.stdout.write(f"  API token:        {base_url}/organizer/api-token/")
