// The live view's chart: the audience's mean of each emotion per sampling slot of media time, on a
// labelled probability axis, above a strip of bars saying how many viewers' faces each point averages
// (a mean that jumps where a viewer's data ends is then seen for what it is).

const MARGIN = { left: 64, right: 16, top: 12, bottom: 34 };
const STRIP_SHARE = 0.22; // of the plotting height, for the viewers' bars
const GAP = 14;
const AXIS = "#ccc";
const TEXT = "#555";
export const BAR_COLOUR = "#9e9e9e";
export const PROBABILITY_TICKS = [0, 0.25, 0.5, 0.75, 1];

// bins: Map of slot start -> { n, sums per emotion }. The points in media-time order, with their means.
export function chartPoints(bins, emotions) {
  return [...bins.keys()].sort((a, b) => a - b).map((t) => {
    const bin = bins.get(t);
    const means = {};
    emotions.forEach((emotion) => { means[emotion] = bin.sums[emotion] / bin.n; });
    return { t: t, n: bin.n, means: means };
  });
}

// A round step for about `count` ticks over `range`: 1, 2 or 5 times a power of ten.
export function tickStep(range, count) {
  const rough = Math.max(range, 1e-9) / count;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough);
  return step;
}

function ticks(end, count) {
  const step = tickStep(end, count);
  const values = [];
  for (let value = 0; value <= end + 1e-9; value += step) { values.push(Math.round(value * 1000) / 1000); }
  return values;
}

function label(context, text, x, y, align) {
  context.textAlign = align;
  context.fillText(text, x, y);
}

// Draw the points on the canvas; returns what was drawn (the axes' ticks and the layout), for the page and tests.
export function drawLiveChart(canvas, { points, emotions, colours, duration, interval }) {
  const context = canvas.getContext("2d");
  const width = canvas.width, height = canvas.height;
  context.clearRect(0, 0, width, height);
  const end = Math.max(duration || 0, points.length ? points[points.length - 1].t + interval : 1);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom - GAP;
  const meanHeight = Math.round(plotHeight * (1 - STRIP_SHARE));
  const strip = { top: MARGIN.top + meanHeight + GAP, height: plotHeight - meanHeight };
  const x = (t) => MARGIN.left + plotWidth * t / end;
  const y = (p) => MARGIN.top + meanHeight * (1 - p);
  const maxViewers = Math.max(1, ...points.map((point) => point.n));
  const viewerTicks = ticks(maxViewers, 2).filter((value) => Number.isInteger(value));
  const barY = (n) => strip.top + strip.height * (1 - n / maxViewers);
  const timeTicks = ticks(end, 8);

  context.font = "11px sans-serif";
  context.textBaseline = "middle";
  context.strokeStyle = AXIS;
  context.fillStyle = TEXT;
  context.lineWidth = 1;
  // Probability axis: grid lines and labels.
  PROBABILITY_TICKS.forEach((p) => {
    context.beginPath();
    context.moveTo(MARGIN.left, Math.round(y(p)) + 0.5);
    context.lineTo(width - MARGIN.right, Math.round(y(p)) + 0.5);
    context.stroke();
    label(context, p.toFixed(2), MARGIN.left - 6, y(p), "right");
  });
  // Viewers' strip: an axis of its own, whole numbers of viewers.
  context.strokeRect(MARGIN.left + 0.5, strip.top + 0.5, plotWidth, strip.height);
  viewerTicks.forEach((n) => { label(context, String(n), MARGIN.left - 6, barY(n), "right"); });
  context.save();
  context.translate(14, MARGIN.top + meanHeight / 2);
  context.rotate(-Math.PI / 2);
  label(context, "mean probability", 0, 0, "center");
  context.restore();
  context.save();
  context.translate(14, strip.top + strip.height / 2);
  context.rotate(-Math.PI / 2);
  label(context, "viewers", 0, 0, "center");
  context.restore();
  // Time axis under the strip.
  context.textBaseline = "top";
  timeTicks.forEach((t) => { label(context, t + " s", x(t), height - MARGIN.bottom + 8, "center"); });

  // One bar per point: how many viewers' faces its mean is over. Whole pixels, so the bars are exact.
  const barWidth = Math.max(1, Math.floor(plotWidth * interval / end) - 1);
  context.fillStyle = BAR_COLOUR;
  points.forEach((point) => {
    const top = Math.round(barY(point.n));
    context.fillRect(Math.round(x(point.t)), top, barWidth, Math.round(strip.top + strip.height) - top);
  });
  // The means, one line per emotion, through the middle of each slot.
  emotions.forEach((emotion) => {
    context.strokeStyle = colours[emotion];
    context.lineWidth = 1.5;
    context.beginPath();
    points.forEach((point, index) => {
      const px = x(point.t + interval / 2), py = y(point.means[emotion]);
      if (index === 0) { context.moveTo(px, py); } else { context.lineTo(px, py); }
    });
    context.stroke();
  });
  return {
    probabilityTicks: PROBABILITY_TICKS, viewerTicks: viewerTicks, timeTicks: timeTicks, maxViewers: maxViewers,
    strip: strip, barWidth: barWidth, x: points.map((point) => Math.round(x(point.t))),
  };
}

// The chart's words for the viewers' strip, e.g. "1 viewer" or "1 to 3 viewers".
export function viewersSummary(points) {
  if (!points.length) { return "No faces read yet."; }
  const counts = points.map((point) => point.n);
  const low = Math.min(...counts), high = Math.max(...counts);
  const range = low === high ? String(low) : low + " to " + high;
  return "Each point is the mean over the faces read in that slot of media time: " + range
    + (high === 1 ? " viewer" : " viewers") + " (the grey bars).";
}
