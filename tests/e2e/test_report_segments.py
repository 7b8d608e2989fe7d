"""Segments on the report page in a real Chromium: choosing one redraws the curves with its members' numbers,
and comparing two overlays their curves (static/js/report-curves.js, static/js/segment-comparison.js)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import seeded_demo_server
from tests.e2e.test_report_curves import legend_value, logged_in_page, point_at_time, watch_for_problems

pytestmark = pytest.mark.e2e

# Two viewers of the demo's 18-second trailer, invited with a label each: one calm (happy 0.2 throughout), one
# joyful (0.8); a segment of each label.
SEED = """
import json
from screenings import services
from screenings.models import Screening
screening = Screening.objects.get()
for label, happy in (("calm", 0.2), ("joyful", 0.8)):
    viewer = services.invites_create(screening=screening, count=1, label=label)[0]
    probabilities = emotions_with(happy)
    for second in range(18):
        services.sample_record(participant=viewer, media_time=float(second), probabilities=probabilities)
joyful = services.segment_create(screening=screening, name="Joyful", rules=[{"label": ["joyful"]}])
calm = services.segment_create(screening=screening, name="Calm", rules=[{"label": ["calm"]}])
print(json.dumps({"screening": screening.pk, "duration": screening.stimulus_duration, "joyful": joyful.pk,
                  "calm": calm.pk}))
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory, migrated_database):  # type: ignore[no-untyped-def]
    """A server with the demo screening, two viewers and a segment of each; stopped after the module."""
    yield from seeded_demo_server(tmp_path_factory.mktemp("report-segments"), SEED, migrated_database)


def test_choosing_a_segment_changes_the_plotted_numbers(study, browser):
    server, (username, password), seeded = study
    duration = seeded["duration"]
    page = logged_in_page(server, browser, username, password, f"/organizer/screenings/{seeded['screening']}/report/")
    problems = watch_for_problems(page)
    page.reload()
    page.locator("#emotion-chart canvas").wait_for(timeout=10_000)
    page.mouse.move(*point_at_time(page, 6.2, duration))
    # Both viewers: happy is the mean of 0.2 and 0.8, two viewers behind it.
    expect(legend_value(page, "happy")).to_have_text("0.500")
    expect(legend_value(page, "viewers")).to_have_text("2")
    page.select_option("select[name=segment]", label="Joyful")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**segment={seeded['joyful']}**")
    page.wait_for_load_state()
    expect(page.locator("#segment-shown")).to_contain_text("Joyful")
    page.locator("#emotion-chart canvas").wait_for(timeout=10_000)
    # The pointer is where it was before the page changed: it must move for the legend to follow it.
    page.mouse.move(0, 0)
    page.mouse.move(*point_at_time(page, 6.2, duration))
    expect(legend_value(page, "happy")).to_have_text("0.800")
    expect(legend_value(page, "viewers")).to_have_text("1")
    # The downloads take the segment too.
    links = page.locator(".downloads a").evaluate_all("links => links.map((link) => link.href)")
    assert links and all(f"segment={seeded['joyful']}" in link for link in links)
    assert not problems, problems


def test_two_segments_compared_overlay_their_curves(study, browser):
    server, (username, password), seeded = study
    duration = seeded["duration"]
    # The login page's next= holds the report's address with its query, quoted.
    path = quote(
        f"/organizer/screenings/{seeded['screening']}/report/?compare={seeded['joyful']}&compare={seeded['calm']}"
    )
    page = logged_in_page(server, browser, username, password, path)
    problems = watch_for_problems(page)
    page.reload()
    chart = "#comparison-chart"
    page.locator(f"{chart} canvas").wait_for(timeout=10_000)
    page.mouse.move(*point_at_time(page, 6.2, duration, chart=chart))
    compared = page.locator(f"{chart} .u-legend .u-series")
    expect(compared.filter(has_text="Joyful (happy)").locator(".u-value")).to_have_text("0.800")
    expect(compared.filter(has_text="Calm (happy)").locator(".u-value")).to_have_text("0.200")
    # Another emotion redraws both curves: sad is (1 - happy) / 6 for each.
    page.select_option("#comparison-emotion", "sad")
    page.mouse.move(*point_at_time(page, 6.2, duration, chart=chart))
    expect(compared.filter(has_text="Joyful (sad)").locator(".u-value")).to_have_text("0.033")
    expect(compared.filter(has_text="Calm (sad)").locator(".u-value")).to_have_text("0.133")
    assert not problems, problems
