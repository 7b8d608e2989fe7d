// The comparison page: one curve per screening on one time axis (seconds, or the share of each
// stimulus's length), drawn from the comparison's JSON (screenings/reports/comparison.py).
import { readConfig } from "./lib/config.js";
import { drawEmotionChart } from "./lib/emotion-chart.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];
const RANGES = { valence: [-1, 1] };
const LABELS = { valence: "valence", expressiveness: "expressiveness" };

const comparison = readConfig("comparison");
const container = document.getElementById("comparison-chart");
const chooser = document.getElementById("comparison-curve");
const relative = comparison.scale === "relative";

// The screenings' points on one axis: every time any of them has, each curve null where it has none
// (its line is drawn across those: the other screenings' points fall between its own).
export function comparisonSeries(screenings, curve) {
  const times = [...new Set(screenings.flatMap((screening) => screening.curve.at))].sort((a, b) => a - b);
  const series = screenings.map((screening, index) => {
    const at = new Map(screening.curve.at.map((time, position) => [time, screening.curve[curve][position]]));
    return {
      label: screening.title, colour: PALETTE[index % PALETTE.length], spanGaps: true,
      values: times.map((time) => (at.has(time) ? at.get(time) : null)),
    };
  });
  return { times, series };
}

let chart = null;
function draw() {
  const curve = chooser.value;
  if (chart) { chart.destroy(); container.replaceChildren(); }
  const longest = Math.max(...comparison.screenings.map((screening) => screening.duration || 0), 1);
  chart = drawEmotionChart(container, {
    ...comparisonSeries(comparison.screenings, curve),
    duration: relative ? 1 : longest,
    range: RANGES[curve] || [0, 1],
    yLabel: LABELS[curve] || "probability of " + curve,
    ...(relative ? { xLabel: "share of the stimulus", xFormat: (value) => Math.round(value * 100) + "%" } : {}),
  });
  container.dataset.curve = curve;
}
chooser.addEventListener("change", draw);
draw();
