"""The report's curves in a real Chromium: drawn by uPlot from the report's JSON, with the stimulus replayed
beside them (static/js/report-curves.js); clicking the curve seeks the video, playing it moves the playhead."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inference.labels import EMOTIONS
from tests.e2e.conftest import seeded_demo_server
from tests.e2e.static_pages import static_page

pytestmark = pytest.mark.e2e

# One viewer of the demo's 18-second trailer: happy low for the first half, high for the second.
SEED = """
import json
from screenings import services
from screenings.models import Screening
from django.contrib.auth import get_user_model
screening = Screening.objects.get()
viewer = services.invites_create(screening=screening, count=1, label="viewer")[0]
for second in range(18):
    happy = 0.2 if second < 9 else 0.8
    probabilities = emotions_with(happy)
    services.sample_record(participant=viewer, media_time=float(second), probabilities=probabilities)
get_user_model().objects.create_user("mallory", password="mallory-pass-1", is_staff=True)
print(json.dumps({"screening": screening.pk, "viewer": viewer.pk, "duration": screening.stimulus_duration}))
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory, migrated_database):  # type: ignore[no-untyped-def]
    """A server with the demo screening, one viewer's samples and a second organizer; stopped after the module."""
    yield from seeded_demo_server(tmp_path_factory.mktemp("report-curves"), SEED, migrated_database)


def logged_in_page(server, browser, username: str, password: str, path: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.goto(f"{server.url}/admin/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


def watch_for_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def legend_labels(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#emotion-chart .u-legend .u-series .u-label").all_inner_texts()


def legend_value(page, label: str):  # type: ignore[no-untyped-def]
    return page.locator("#emotion-chart .u-legend .u-series", has_text=label).locator(".u-value")


def point_at_time(page, seconds: float, duration: float, chart: str = "#emotion-chart") -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The page coordinates of the plot's middle height at a media time, scrolled into view."""
    plot = page.locator(f"{chart} .u-over")
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    assert box is not None
    return box["x"] + box["width"] * seconds / duration, box["y"] + box["height"] / 2


def playhead_time(page, duration: float) -> float:  # type: ignore[no-untyped-def]
    """Where the playhead line stands, read back as a media time from its position across the plot."""
    share = page.locator("#emotion-chart .chart-playhead").evaluate(
        "line => parseFloat(line.style.left) / line.parentElement.clientWidth"
    )
    return share * duration


def current_time(page) -> float:  # type: ignore[no-untyped-def]
    return page.locator("#stimulus-player").evaluate("video => video.currentTime")


def test_the_report_draws_the_curves_and_the_video_follows_the_chart(study, browser):
    server, (username, password), seeded = study
    duration = seeded["duration"]
    page = logged_in_page(server, browser, username, password, f"/organizer/screenings/{seeded['screening']}/report/")
    problems = watch_for_problems(page)
    page.reload()
    page.locator("#emotion-chart canvas").wait_for(timeout=10_000)
    assert set(EMOTIONS) <= set(legend_labels(page)) and "viewers" in legend_labels(page)
    # Hovering the second half shows the JSON's values: happy 0.8, one viewer.
    page.mouse.move(*point_at_time(page, 12.2, duration))
    expect(legend_value(page, "happy")).to_have_text("0.800")
    expect(legend_value(page, "viewers")).to_have_text("1")
    # A click on the curve seeks the player there, and the playhead stands at it.
    page.mouse.click(*point_at_time(page, 12, duration))
    page.wait_for_function("() => Math.abs(document.getElementById('stimulus-player').currentTime - 12) < 0.6")
    assert playhead_time(page, duration) == pytest.approx(current_time(page), abs=0.5)
    # Playing moves the playhead with the video.
    page.locator("#stimulus-player").evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.getElementById('stimulus-player').currentTime > 13.5", timeout=10_000)
    assert playhead_time(page, duration) > 13
    page.locator("#stimulus-player").evaluate("video => video.pause()")
    # A scene (the demo's second starts at 6 s) and a top moment seek too.
    page.locator(".scene-list button").nth(1).click()
    assert current_time(page) == pytest.approx(6, abs=0.01)
    moment = page.locator("table [data-seek]").first
    moment.click()
    assert current_time(page) == pytest.approx(float(moment.get_attribute("data-seek")), abs=0.01)
    # A legend click hides a curve.
    page.locator("#emotion-chart .u-legend .u-series", has_text="happy").click()
    assert "u-off" in page.locator("#emotion-chart .u-legend .u-series", has_text="happy").get_attribute("class")
    assert problems == []


def test_a_participants_report_replays_their_own_curve_and_another_organizer_gets_404(study, browser):
    server, (username, password), seeded = study
    duration = seeded["duration"]
    path = f"/organizer/screenings/{seeded['screening']}/participants/{seeded['viewer']}/"
    page = logged_in_page(server, browser, username, password, path)
    problems = watch_for_problems(page)
    page.reload()
    page.locator("#emotion-chart canvas").wait_for(timeout=10_000)
    assert set(EMOTIONS) <= set(legend_labels(page)) and "viewers" not in legend_labels(page)
    page.mouse.click(*point_at_time(page, 4, duration))
    page.wait_for_function("() => Math.abs(document.getElementById('stimulus-player').currentTime - 4) < 0.6")
    assert problems == []

    mallory = logged_in_page(server, browser, "mallory", "mallory-pass-1", "/admin/")
    for refused in (path, f"/organizer/screenings/{seeded['screening']}/report/",
                    f"/organizer/screenings/{seeded['screening']}/stimulus/"):  # fmt: skip
        assert mallory.request.get(server.url + refused).status == 404, refused


# Two charts of one curve (0.5 throughout), one whose series carries a 0.3-0.7 interval; and a drag to zoom.
BANDS_AND_ZOOM = """async () => {
  const { drawEmotionChart } = await import("/static/js/lib/emotion-chart.js");
  const { timelineSeries } = await import("/static/js/lib/report-series.js");
  const bins = [...Array(10).keys()].map((t) => ({ start: t, participants: 3, happy: 0.5 }));
  const banded = bins.map((bin) => ({ ...bin, lower: { happy: 0.3 }, upper: { happy: 0.7 } }));
  const colours = { happy: "#2ca02c" };
  const draw = (id, timeline) => drawEmotionChart(document.getElementById(id),
    { ...timelineSeries(timeline, ["happy"], colours), scenes: [], duration: 10 });
  const plain = draw("plain", { bins });
  const withBand = draw("banded", { bins: banded });
  window.plain = plain;
  await new Promise((drawn) => requestAnimationFrame(() => drawn()));
  const pixel = (chart) => {
    const x = Math.round(chart.plot.valToPos(5, "x", true));
    const y = Math.round(chart.plot.valToPos(0.62, "p", true));
    return [...chart.plot.ctx.getImageData(x, y, 1, 1).data];
  };
  return {
    plainSeries: timelineSeries({ bins }, ["happy"], colours).series[0],
    plain: pixel(plain), banded: pixel(withBand),
  };
}"""


def test_a_band_is_drawn_only_where_the_json_gives_one_and_dragging_zooms(chromium, no_face_camera_video):
    stylesheet = '<link rel="stylesheet" href="/static/vendor/uplot/uPlot.min.css">'
    page = static_page(chromium(no_face_camera_video), stylesheet + '<div id="plain"></div><div id="banded"></div>')
    drawn = page.evaluate(BANDS_AND_ZOOM)
    assert "lower" not in drawn["plainSeries"] and "upper" not in drawn["plainSeries"]
    red, green, blue, _ = drawn["banded"]
    assert green > red + 20 and green > blue + 20, f"no green band: {drawn['banded']}"
    assert drawn["plain"][:3] != drawn["banded"][:3]
    # Drag from 2 s to 6 s: the chart shows that window; the next window after "later"; the whole after a reset.
    start, end = point_at_time(page, 2, 10, "#plain"), point_at_time(page, 6, 10, "#plain")
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=5)
    page.mouse.up()
    window = "() => [window.plain.plot.scales.x.min, window.plain.plot.scales.x.max]"
    assert page.evaluate(window) == [pytest.approx(2, abs=0.1), pytest.approx(6, abs=0.1)]
    page.evaluate("() => window.plain.pan(0.5)")
    assert page.evaluate(window) == [pytest.approx(4, abs=0.1), pytest.approx(8, abs=0.1)]
    page.evaluate("() => window.plain.reset()")
    assert page.evaluate(window) == [0, 10]


def test_the_metrics_chart_draws_each_metric_from_the_json(study, browser):
    server, (username, password), seeded = study
    duration = seeded["duration"]
    page = logged_in_page(server, browser, username, password, f"/organizer/screenings/{seeded['screening']}/report/")
    problems = watch_for_problems(page)
    page.reload()
    page.locator("#metrics-chart canvas").wait_for(timeout=10_000)
    value = page.locator("#metrics-chart .u-legend .u-series").nth(1).locator(".u-value")
    # The one viewer's second half: happy 0.8, the four negative emotions 0.2 / 6 each.
    page.mouse.move(*point_at_time(page, 12.2, duration, chart="#metrics-chart"))
    expect(value).to_have_text(f"{0.8 - 4 * 0.2 / 6:.3f}")
    page.select_option("#metrics-curve", "attention")
    expect(page.locator("#metrics-chart")).to_have_attribute("data-metric", "attention")
    page.mouse.move(*point_at_time(page, 3.2, duration, chart="#metrics-chart"))
    page.mouse.move(*point_at_time(page, 3.3, duration, chart="#metrics-chart"))
    expect(page.locator("#metrics-chart .u-legend .u-series").nth(1).locator(".u-value")).to_have_text("1.000")
    assert problems == []
