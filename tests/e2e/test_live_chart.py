"""The live view's chart (static/js/lib/live-chart.js) in a real Chromium: a labelled probability axis, and
bars saying how many viewers each point is the mean of, so a mean that changes where a viewer's data ends
shows as that."""

from __future__ import annotations

import pytest

from inference.labels import EMOTION_COLOURS, EMOTIONS
from tests.e2e.static_pages import static_page

pytestmark = pytest.mark.e2e

# Two viewers up to 14 s, then only the first: the audience's mean of happy jumps at 14 s.
DRAW = """async ({ emotions, colours }) => {
  const chart = await import("/static/js/lib/live-chart.js");
  const bins = new Map();
  for (let t = 0; t < 30; t += 1) {
    const n = t < 14 ? 2 : 1;
    const sums = Object.fromEntries(emotions.map((e) => [e, 0]));
    sums.happy = t < 14 ? 0.9 + 0.1 : 0.9;
    sums.neutral = n - sums.happy;
    bins.set(t, { n: n, sums: sums });
  }
  const points = chart.chartPoints(bins, emotions);
  const canvas = document.getElementById("chart");
  const drawn = chart.drawLiveChart(canvas, { points, emotions, colours, duration: 30, interval: 1 });
  // The height of the grey bar in the column of each point, counted in pixels.
  const context = canvas.getContext("2d");
  const heights = drawn.x.map((left) => {
    const middle = left + Math.floor(drawn.barWidth / 2);
    const column = context.getImageData(middle, drawn.strip.top, 1, drawn.strip.height + 1).data;
    let grey = 0;
    for (let index = 0; index < column.length; index += 4) {
      if (column[index] === 0x9e && column[index + 1] === 0x9e && column[index + 2] === 0x9e) { grey += 1; }
    }
    return grey;
  });
  return {
    probabilityTicks: drawn.probabilityTicks, viewerTicks: drawn.viewerTicks, timeTicks: drawn.timeTicks,
    heights: heights, points: points.map((point) => ({ t: point.t, n: point.n, happy: point.means.happy })),
    summary: chart.viewersSummary(points), emptySummary: chart.viewersSummary([]),
  };
}"""


@pytest.fixture
def page(chromium, no_face_camera_video):  # type: ignore[no-untyped-def]
    return static_page(chromium(no_face_camera_video), '<canvas id="chart" width="900" height="340"></canvas>')


def test_the_chart_has_a_probability_axis_and_shows_how_many_viewers_each_point_averages(page):
    drawn = page.evaluate(DRAW, {"emotions": list(EMOTIONS), "colours": EMOTION_COLOURS})
    assert drawn["probabilityTicks"] == [0, 0.25, 0.5, 0.75, 1]
    assert drawn["viewerTicks"][0] == 0 and drawn["viewerTicks"][-1] == 2
    assert drawn["timeTicks"][0] == 0 and drawn["timeTicks"][-1] == 30
    points = drawn["points"]
    assert [point["n"] for point in points] == [2] * 14 + [1] * 16
    assert points[13]["happy"] == pytest.approx(0.5) and points[14]["happy"] == pytest.approx(0.9)
    heights = drawn["heights"]
    two, one = heights[:14], heights[14:]
    assert len(set(two)) == 1 and len(set(one)) == 1, f"bars of one count differ: {heights}"
    assert one[0] > 0 and abs(two[0] - 2 * one[0]) <= 1, f"two viewers' bar is not twice one viewer's: {heights}"
    assert drawn["summary"].startswith("Each point is the mean") and "1 to 2 viewers" in drawn["summary"]
    assert drawn["emptySummary"] == "No faces read yet."
