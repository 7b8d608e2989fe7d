// The watch page: plays the stimulus without skipping ahead, remembers the position,
// and records that playback finished before the participant can go on.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("watch-config").textContent);
  const video = document.getElementById("stimulus");
  const toggle = document.getElementById("play-toggle");
  const progress = document.getElementById("playback-progress");
  const status = document.getElementById("watch-status");
  const continueLink = document.getElementById("continue-link");
  const csrfToken = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  let furthest = config.resumeAt || 0;
  let lastSaved = 0;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
  }

  video.addEventListener("loadedmetadata", function () {
    if (furthest > 0 && furthest < video.duration) {
      video.currentTime = furthest;
      status.textContent = "Welcome back: the video continues where you left off.";
    }
  });

  toggle.addEventListener("click", function () {
    if (video.paused) { video.play(); } else { video.pause(); }
  });
  video.addEventListener("play", function () { toggle.textContent = "Pause"; });
  video.addEventListener("pause", function () { toggle.textContent = "Play"; });

  // No skipping ahead: a seek beyond what was watched goes back to the furthest point.
  video.addEventListener("seeking", function () {
    if (video.currentTime > furthest + 0.5) { video.currentTime = furthest; }
  });

  video.addEventListener("timeupdate", function () {
    if (!video.seeking) { furthest = Math.max(furthest, video.currentTime); }
    if (video.duration) { progress.value = video.currentTime / video.duration; }
    if (furthest - lastSaved >= 5) {
      lastSaved = furthest;
      post(config.positionUrl, { position: furthest }).catch(function () { /* retried at the next update */ });
    }
  });

  // A hidden tab cannot watch: pause until the participant comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && !video.paused) {
      video.pause();
      status.textContent = "The video paused because the tab was hidden. Press Play to go on.";
    }
  });

  async function reportFinished(attempt) {
    try {
      const response = await post(config.finishedUrl, { position: video.duration || furthest });
      if (response.ok || response.status === 409) {
        status.textContent = "Thank you for watching.";
        continueLink.hidden = false;
        toggle.disabled = true;
        return;
      }
      status.textContent = "The end of the video could not be recorded. Please reload the page.";
    } catch (error) {
      const delay = Math.min(30000, 1000 * Math.pow(2, attempt));
      status.textContent = "Connection problem; trying again in " + Math.round(delay / 1000) + " s…";
      setTimeout(function () { reportFinished(attempt + 1); }, delay);
    }
  }
  video.addEventListener("ended", function () { reportFinished(0); });
  video.addEventListener("error", function () {
    status.textContent = "The video could not be loaded. Please reload the page; if it keeps failing, contact the organizer.";
  });
})();
