// The report pages' curves (the screening's and a participant's), drawn from the report's JSON
// that the server writes with json_script (screenings/web/client.py), beside the stimulus.
import { readConfig } from "./lib/config.js";
import { drawEmotionChart } from "./lib/emotion-chart.js";
import { participantSeries, timelineSeries } from "./lib/report-series.js";
import { bindSeekButtons, followVideo, seeker } from "./lib/replay.js";

const config = readConfig("report-chart");
const curves = config.timeline
  ? timelineSeries(config.timeline, config.emotions, config.colours)
  : participantSeries(config.samples, config.emotions, config.colours);
const video = document.getElementById("stimulus-player");
let seek = () => {};
const chart = drawEmotionChart(document.getElementById("emotion-chart"), {
  ...curves, scenes: config.scenes, duration: config.duration, onSeek: (seconds) => seek(seconds),
});
seek = seeker(video, chart);
if (video) {
  followVideo(video, chart);
}
bindSeekButtons(document, seek);

const controls = document.getElementById("chart-controls");
controls.hidden = false;
controls.querySelector("[data-chart=earlier]").addEventListener("click", () => chart.pan(-0.5));
controls.querySelector("[data-chart=later]").addEventListener("click", () => chart.pan(0.5));
controls.querySelector("[data-chart=reset]").addEventListener("click", () => chart.reset());
