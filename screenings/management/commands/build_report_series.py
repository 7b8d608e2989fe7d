from django.core.management.base import BaseCommand, CommandError

from screenings.models import Screening
from screenings.selectors.series import series_refresh


class Command(BaseCommand):
    help = (
        "Build the participants' packed report series where missing or stale, so the first report of a "
        "screening does not build them (after an upgrade or a bulk load of samples)."
    )

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--screening", type=int, action="append", help="a screening's id (default: every one)")

    def handle(self, *args: object, screening: list[int] | None, **options: object) -> None:
        screenings = Screening.objects.order_by("pk")
        if screening:
            screenings = screenings.filter(pk__in=screening)
            missing = sorted(set(screening) - set(screenings.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no screening with id {', '.join(map(str, missing))}")
        for each in screenings:
            built = series_refresh(screening=each)
            self.stdout.write(f"{each.title} ({each.pk}): {built} participants' series built")
