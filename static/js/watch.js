// The watch page: plays the stimulus without skipping ahead, grabs a webcam frame at every
// sampling interval of media time and sends it for classification, remembers the position,
// and records that playback finished before the participant can go on.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("watch-config").textContent);
  const video = document.getElementById("stimulus");
  const camera = document.getElementById("camera");
  const toggle = document.getElementById("play-toggle");
  const progress = document.getElementById("playback-progress");
  const status = document.getElementById("watch-status");
  const indicator = document.getElementById("capture-indicator");
  const continueLink = document.getElementById("continue-link");
  const csrfToken = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const interval = config.samplingInterval;
  const canvas = document.createElement("canvas");
  let furthest = config.resumeAt || 0;
  let lastSaved = furthest;
  let lastSlot = -1;
  let cameraReady = false;
  let finishing = false;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
  }

  function showIndicator(kind, title) {
    indicator.className = "indicator " + kind;
    indicator.title = title;
  }

  const capture = new window.ReactionCapture({
    socketUrl: (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.socketPath,
    postUrl: config.framePostUrl,
    onAck: function (ack) {
      if (ack.face) { showIndicator("ok", "Your face is seen"); } else { showIndicator("no-face", "No face seen: please face the screen"); }
    },
    onState: function (state) {
      if (state === "connecting") { showIndicator("", "Connecting…"); }
      if (state === "reconnecting") { showIndicator("error", "Connection lost: reconnecting…"); }
      if (state === "replaced") {
        video.pause();
        status.textContent = "This screening was opened in another tab or window; please continue there.";
      }
    },
  });

  async function startCamera() {
    try {
      const stream = config.captureSource === "screen"
        ? await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
        : await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      camera.srcObject = stream;
      await camera.play();
      cameraReady = true;
      return true;
    } catch (error) {
      status.textContent = "The camera is needed to record your reactions. Please allow it and press Play again.";
      showIndicator("error", "Camera not available");
      return false;
    }
  }

  // Send one frame for the slot of media time the player has reached; a slot is never sent twice.
  function sample() {
    if (!cameraReady || video.paused || video.seeking || camera.videoWidth === 0) { return; }
    const slot = Math.floor(video.currentTime / interval + 1e-6);
    if (slot <= lastSlot) { return; }
    lastSlot = slot;
    const width = Math.min(480, camera.videoWidth);
    canvas.width = width;
    canvas.height = Math.round(camera.videoHeight * width / camera.videoWidth);
    canvas.getContext("2d").drawImage(camera, 0, 0, canvas.width, canvas.height);
    const mediaTime = Math.round(slot * interval * 1000) / 1000;
    capture.send(mediaTime, window.ReactionCapture.canvasJpeg(canvas, 0.8));
  }

  video.addEventListener("loadedmetadata", function () {
    if (furthest > 0 && furthest < video.duration) {
      video.currentTime = furthest;
      lastSlot = Math.floor(furthest / interval + 1e-6) - 1;
      status.textContent = "Welcome back: the video continues where you left off.";
    }
  });

  toggle.addEventListener("click", async function () {
    if (!cameraReady && !(await startCamera())) { return; }
    if (video.paused) { video.play(); } else { video.pause(); }
  });
  video.addEventListener("play", function () { toggle.textContent = "Pause"; status.textContent = ""; });
  video.addEventListener("pause", function () { toggle.textContent = "Play"; });

  // No skipping ahead: a seek beyond what was watched goes back to the furthest point.
  video.addEventListener("seeking", function () {
    if (video.currentTime > furthest + 0.5) { video.currentTime = furthest; }
  });

  video.addEventListener("timeupdate", function () {
    if (!video.seeking) { furthest = Math.max(furthest, video.currentTime); }
    if (video.duration) { progress.value = video.currentTime / video.duration; }
    sample();
    if (furthest - lastSaved >= 5) {
      lastSaved = furthest;
      post(config.positionUrl, { position: furthest }).catch(function () { /* saved again at the next update */ });
    }
  });
  // timeupdate fires only about four times a second; short intervals need a finer clock.
  (function tick() { sample(); requestAnimationFrame(tick); })();

  // A hidden tab cannot watch: pause until the participant comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && !video.paused) {
      video.pause();
      status.textContent = "The video paused because the tab was hidden. Press Play to go on.";
    }
  });

  async function reportFinished(attempt) {
    const end = video.duration || furthest;
    if (attempt === 0) {
      status.textContent = "Saving the last moments…";
      if (await capture.finish(end, 20000)) { finished(); return; }
    }
    try {
      const response = await post(config.finishedUrl, { position: end });
      if (response.ok || response.status === 409) { finished(); return; }
      status.textContent = "The end of the video could not be recorded. Please reload the page.";
    } catch (error) {
      const delay = Math.min(30000, 1000 * Math.pow(2, attempt));
      status.textContent = "Connection problem; trying again in " + Math.round(delay / 1000) + " s…";
      setTimeout(function () { reportFinished(attempt + 1); }, delay);
    }
  }

  function finished() {
    status.textContent = "Thank you for watching.";
    continueLink.hidden = false;
    toggle.disabled = true;
    const stream = camera.srcObject;
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
  }

  video.addEventListener("ended", function () {
    if (finishing) { return; }
    finishing = true;
    sample();
    reportFinished(0);
  });
  video.addEventListener("error", function () {
    status.textContent = "The video could not be loaded. Please reload the page; if it keeps failing, contact the organizer.";
  });

  capture.start();
})();
