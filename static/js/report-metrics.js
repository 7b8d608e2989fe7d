// The report's metrics per time bin with their 95% intervals across viewers (docs/metrics.md), drawn
// from the report's JSON that the page writes with json_script ("report-metrics").
import { readConfig } from "./lib/config.js";
import { drawEmotionChart } from "./lib/emotion-chart.js";

const COLOURS = { valence: "#7b3294", expressiveness: "#e66101", attention: "#1b7837" };
const RANGES = { valence: [-1, 1], expressiveness: [0, 1], attention: [0, 1] };

const config = readConfig("report-metrics");
const container = document.getElementById("metrics-chart");
const chooser = document.getElementById("metrics-curve");

// One metric's mean, band and viewers per bin: the chart's series.
export function metricSeries(bins, name) {
  const pick = (key) => bins.map((bin) => bin[name][key]);
  return {
    times: bins.map((bin) => bin.start),
    series: [{ label: name, colour: COLOURS[name], values: pick("mean"), lower: pick("lower"), upper: pick("upper") }],
    viewers: bins.map((bin) => bin[name].viewers),
  };
}

let chart = null;
function draw() {
  const name = chooser.value;
  if (chart) { chart.destroy(); container.replaceChildren(); }
  chart = drawEmotionChart(container, {
    ...metricSeries(config.bins, name), duration: config.duration, scenes: config.scenes,
    range: RANGES[name], yLabel: name + " (mean, 95% interval)", height: 260,
  });
  container.dataset.metric = name;
}
chooser.addEventListener("change", draw);
draw();
