"""The organizer's admin: each module registers its models when Django's admin autodiscovery imports this package."""

from screenings.admin import analyses, participants, screenings  # noqa: F401
