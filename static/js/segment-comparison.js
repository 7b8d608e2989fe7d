// The report page's segments compared: each segment's curve of the chosen emotion overlaid, drawn
// from the segments' report JSON that the server writes with json_script ("segment-comparison").
import { readConfig } from "./lib/config.js";
import { drawEmotionChart } from "./lib/emotion-chart.js";
import { segmentSeries } from "./lib/report-series.js";

const config = readConfig("segment-comparison");
const container = document.getElementById("comparison-chart");
const chooser = document.getElementById("comparison-emotion");
let chart = null;

function draw() {
  if (chart) { chart.destroy(); }
  container.replaceChildren();
  chart = drawEmotionChart(container, { ...segmentSeries(config.segments, chooser.value), duration: config.duration });
}

chooser.addEventListener("change", draw);
draw();
