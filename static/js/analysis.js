// Follows a media analysis job: polls the API for progress and reloads the page once it finishes.
(function () {
  "use strict";
  const job = document.getElementById("job");
  if (!job) return;
  const url = job.dataset.statusUrl;
  const bar = document.getElementById("job-progress");
  const times = document.getElementById("job-times");
  const statusText = document.getElementById("job-status");
  const labels = { queued: "Queued", running: "Running", succeeded: "Done", failed: "Failed", cancelled: "Cancelled" };

  function describe(progress) {
    let text = progress.percent + "%";
    if (progress.elapsed_seconds !== null) text += ", " + Math.round(progress.elapsed_seconds) + " s elapsed";
    if (progress.remaining_seconds !== null) text += ", about " + Math.round(progress.remaining_seconds) + " s left";
    return text;
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const analysis = await response.json();
        if (["succeeded", "failed", "cancelled"].includes(analysis.status)) {
          window.location.reload();
          return;
        }
        statusText.textContent = labels[analysis.status] || analysis.status;
        if (bar) bar.value = analysis.progress.percent;
        if (times) times.textContent = describe(analysis.progress);
      }
    } catch (error) {
      // The server may be restarting; keep polling.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
