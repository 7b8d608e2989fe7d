// Follows a media analysis job: polls the API for progress and reloads the page once it finishes.
import { readConfig } from "./lib/config.js";
import { getJson } from "./lib/http.js";

const POLL_EVERY_MS = 1000;

const config = readConfig("analysis-config");
const statusUrl = config.status_url;
const labels = new Map(config.status_labels);
const finishedStatuses = new Set(config.finished_statuses);
const bar = document.getElementById("job-progress");
const times = document.getElementById("job-times");
const statusText = document.getElementById("job-status");

function describe(progress) {
  let text = progress.percent + "%";
  if (progress.elapsed_seconds !== null) text += ", " + Math.round(progress.elapsed_seconds) + " s elapsed";
  if (progress.remaining_seconds !== null) text += ", about " + Math.round(progress.remaining_seconds) + " s left";
  return text;
}

async function poll() {
  try {
    const response = await getJson(statusUrl);
    if (response.ok) {
      const analysis = await response.json();
      if (finishedStatuses.has(analysis.status)) {
        window.location.reload();
        return;
      }
      statusText.textContent = labels.get(analysis.status) || analysis.status;
      if (bar) bar.value = analysis.progress.percent;
      if (times) times.textContent = describe(analysis.progress);
    }
  } catch (error) {
    // The server may be restarting; keep polling.
  }
  setTimeout(poll, POLL_EVERY_MS);
}
setTimeout(poll, POLL_EVERY_MS);
