"""Fixtures shared by the report and segment tests: the three-viewer trailer and two segments of it."""

from __future__ import annotations

import pytest

from screenings import services
from tests.screenings.report_fixtures import three_viewer_trailer


@pytest.fixture
def trailer(screening):
    return three_viewer_trailer(screening)


@pytest.fixture
def keen(trailer):
    """Those who would watch it again: P1 and P3."""
    again = trailer.questions.get(text="Would you watch it?")
    return services.segment_create(screening=trailer, name="Keen", rules=[{"question": again.pk, "in": ["Yes"]}])


@pytest.fixture
def unsure(trailer):
    """P2 alone."""
    return services.segment_create(screening=trailer, name="Unsure", rules=[{"panel_id": ["P2"]}])
