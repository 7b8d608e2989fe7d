// The organizer's live view: participants' connection and latest emotion, and the audience's
// running mean per media time, kept up to date from the screening's live channel group.
import { readConfig } from "./lib/config.js";
import { chartPoints, drawLiveChart, viewersSummary } from "./lib/live-chart.js";
import { ReconnectingSocket } from "./lib/socket.js";

const state = readConfig("live-state");
const colours = state.colours;
const participants = new Map(state.participants.map((row) => [row.participant, row]));
const bins = new Map(); // start of the sampling slot -> {n, sums per emotion}
// Participants' frames arrive at slightly different media times; the audience mean is per slot,
// by the server's rule (screenings/rules/slots.py), epsilon included.
function slotStart(mediaTime) { return Math.floor(mediaTime / state.interval + state.slotEpsilon) * state.interval; }
state.timeline.forEach((row) => {
  const sums = {};
  state.emotions.forEach((emotion) => { sums[emotion] = row[emotion] * row.n; });
  bins.set(row.media_time, { n: row.n, sums: sums });
});
const status = document.getElementById("live-status");
const table = document.getElementById("participants");
const canvas = document.getElementById("running-mean");
const viewers = document.getElementById("chart-viewers");

function drawLegend() {
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  state.emotions.forEach((emotion, index) => {
    const entry = document.createElement("span");
    entry.style.color = colours[emotion];
    entry.textContent = "■ " + emotion;
    if (index > 0) { legend.append(" "); }
    legend.append(entry);
  });
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function drawTable() {
  table.replaceChildren();
  participants.forEach((row) => {
    const tr = document.createElement("tr");
    tr.append(
      cell(row.label), cell(row.connected ? "connected" : (row.state === "watching" ? "not connected" : row.state)),
      cell(row.media_time == null ? "–" : row.media_time.toFixed(1) + " s"),
      cell(row.face == null ? "–" : (row.face ? "seen" : "not seen")), cell(row.emotion || "–"), cell(String(row.samples || 0)),
    );
    table.append(tr);
  });
}

function drawChart() {
  const points = chartPoints(bins, state.emotions);
  drawLiveChart(canvas, {
    points: points, emotions: state.emotions, colours: colours, duration: state.duration, interval: state.interval,
  });
  viewers.textContent = viewersSummary(points);
}

function apply(event) {
  const row = participants.get(event.participant) || { participant: event.participant, label: event.label, samples: 0 };
  if (event.event === "connected") { row.connected = true; row.state = "watching"; }
  if (event.event === "disconnected") { row.connected = false; }
  if (event.event === "ended") { row.state = "watched"; }
  if (event.event === "sample") {
    row.media_time = event.media_time;
    row.face = event.face;
    row.emotion = event.emotion;
    row.samples = (row.samples || 0) + 1;
    if (event.face) {
      const start = slotStart(event.media_time);
      const bin = bins.get(start) || { n: 0, sums: Object.fromEntries(state.emotions.map((e) => [e, 0])) };
      bin.n += 1;
      state.emotions.forEach((emotion) => { bin.sums[emotion] += event.probabilities[emotion]; });
      bins.set(start, bin);
    }
  }
  participants.set(event.participant, row);
}

const socket = new ReconnectingSocket(state.socketPath, {
  finalCodes: [state.closeCodes.unknown],
  onOpen: () => { status.textContent = "Live: updates arrive as participants watch."; },
  onMessage: (event) => { apply(event); drawTable(); drawChart(); },
  onRetrying: () => { status.textContent = "Connection lost; reconnecting…"; },
  onFinalClose: () => { status.textContent = "This screening is not available to you."; },
});
drawLegend();
drawTable();
drawChart();
socket.connect();
