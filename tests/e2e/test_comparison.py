"""The comparison page in a real Chromium: two cuts of different lengths on one axis (static/js/compare.js)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import seeded_demo_server
from tests.e2e.test_report_curves import logged_in_page, point_at_time, watch_for_problems

pytestmark = pytest.mark.e2e

# The demo's 18-second trailer watched with happy at 0.8 throughout, and a 36-second cut with 0.2.
SEED = """
import json
from screenings import services
from screenings.models import Screening
from tests.factories import ScreeningFactory
demo = Screening.objects.get()
long_cut = ScreeningFactory(owner=demo.owner, title="Long cut", stimulus_duration=36.0)
for screening, happy, seconds in ((demo, 0.8, 18), (long_cut, 0.2, 36)):
    viewer = services.invites_create(screening=screening, count=1, label="viewer")[0]
    probabilities = emotions_with(happy)
    for second in range(seconds):
        services.sample_record(participant=viewer, media_time=float(second), probabilities=probabilities)
print(json.dumps({"demo": demo.pk, "demo_title": demo.title, "long": long_cut.pk}))
"""


@pytest.fixture(scope="module")
def cuts(tmp_path_factory, migrated_database):  # type: ignore[no-untyped-def]
    yield from seeded_demo_server(tmp_path_factory.mktemp("comparison"), SEED, migrated_database)


def hover(page, share: float) -> None:  # type: ignore[no-untyped-def]
    """The mouse over the chart at a share of the time axis (arriving from the left, as a hand would)."""
    page.locator("#comparison-chart canvas").wait_for()
    x, y = point_at_time(page, share, 1.0, chart="#comparison-chart")
    page.mouse.move(x - 20, y)
    page.mouse.move(x, y, steps=4)


def value_of(page, label: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#comparison-chart .u-legend .u-series", has_text=label).locator(".u-value").inner_text()


def test_both_cuts_are_drawn_over_one_relative_axis_and_the_curve_can_be_chosen(cuts, browser):
    server, (username, password), seeded = cuts
    path = f"/organizer/compare/?screenings={seeded['demo']}&screenings={seeded['long']}&scale=relative"
    page = logged_in_page(server, browser, username, password, "/organizer/compare/")
    problems = watch_for_problems(page)
    page.goto(server.url + path)
    legend = page.locator("#comparison-chart .u-legend .u-series .u-label")
    expect(legend).to_have_text(["time", seeded["demo_title"], "Long cut"]), problems
    # Half-way through each stimulus (9 s of the one, 18 s of the other): both have a point there.
    hover(page, 0.5)
    expect(page.locator("#comparison-chart .u-legend .u-series").first.locator(".u-value")).to_have_text("50%")
    # Valence is happy minus the negative emotions: 0.8 - 4 x 0.2/6, and 0.2 - 4 x 0.8/6.
    assert float(value_of(page, seeded["demo_title"])) == pytest.approx(0.8 - 4 * 0.2 / 6, abs=1e-3)
    assert float(value_of(page, "Long cut")) == pytest.approx(0.2 - 4 * 0.8 / 6, abs=1e-3)
    page.select_option("#comparison-curve", "happy")
    expect(page.locator("#comparison-chart")).to_have_attribute("data-curve", "happy")
    hover(page, 0.5)
    expect(page.locator("#comparison-chart .u-legend .u-series", has_text="Long cut").locator(".u-value")).to_have_text(
        "0.200"
    )
    assert page.locator("#comparison-metrics tr[data-screening]").count() == 2
    assert problems == []
