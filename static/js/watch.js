// The watch page: plays the stimulus without skipping ahead, grabs a webcam frame at every
// sampling interval of media time and sends it for classification, remembers the position,
// and records that playback finished before the participant can go on. When no face has been seen
// for a few samples in a row it says so, and (if the organizer chose it) pauses until the face is back.
import { JPEG_QUALITY, drawFrame, startCamera, stopCamera } from "./lib/camera.js";
import { Capture, canvasJpeg } from "./lib/capture.js";
import { readConfig } from "./lib/config.js";
import { checkFace } from "./lib/face-check.js";
import { postJson } from "./lib/http.js";
import { dueSlot, finalSample, sampleMediaTime } from "./lib/sampling.js";
import { retryDelay } from "./lib/socket.js";

// How far past the furthest point watched a seek may land (players overshoot a little).
const SEEK_SLACK_SECONDS = 0.5;
const SAVE_POSITION_EVERY_SECONDS = 5;

const config = readConfig("watch-config");
const video = document.getElementById("stimulus");
const camera = document.getElementById("camera");
const toggle = document.getElementById("play-toggle");
const progress = document.getElementById("playback-progress");
const status = document.getElementById("watch-status");
const indicator = document.getElementById("capture-indicator");
const continueLink = document.getElementById("continue-link");
const faceOverlay = document.getElementById("face-overlay");
// Each slot's frame is grabbed at this participant's own offset into the slot (lib/sampling.js).
const slotRules = { interval: config.samplingInterval, offset: config.captureOffset, epsilon: config.slotEpsilon };
const canvas = document.createElement("canvas");
const faceCanvas = document.createElement("canvas");
let furthest = config.resumeAt || 0;
let lastSaved = furthest;
let lastSlot = -1;
let cameraReady = false;
let finishing = false;
let samplesWithoutFace = 0;
let pausedForFace = false;
let faceChecks = null;

function showIndicator(kind, title) {
  indicator.className = "indicator " + kind;
  indicator.title = title;
}

const capture = new Capture({
  socketPath: config.socketPath,
  postUrl: config.framePostUrl,
  closeCodes: config.closeCodes,
  onAck(ack) {
    if (ack.face) {
      showIndicator("ok", "Your face is seen");
      faceBack();
    } else {
      showIndicator("no-face", "No face seen: please face the screen");
      faceMissing();
    }
  },
  onState(state) {
    if (state === "connecting") { showIndicator("", "Connecting…"); }
    if (state === "reconnecting") { showIndicator("error", "Connection lost: reconnecting…"); }
    if (state === "replaced") {
      video.pause();
      status.textContent = "This screening was opened in another tab or window; please continue there.";
    }
  },
});

// A paused video takes no samples, so while it waits for the face the camera's picture is checked instead.
function stopFaceChecks() {
  if (faceChecks) { clearInterval(faceChecks); faceChecks = null; }
}

function startFaceChecks() {
  if (faceChecks) { return; }
  faceChecks = setInterval(async () => {
    const answer = await checkFace(config.faceCheckUrl, camera, faceCanvas, config.maxFrameSide);
    if (answer && answer.face && pausedForFace) { faceBack(); }
  }, config.checkEveryMs);
}

function faceBack() {
  samplesWithoutFace = 0;
  faceOverlay.hidden = true;
  if (pausedForFace) {
    pausedForFace = false;
    stopFaceChecks();
    video.play();
  }
}

function faceMissing() {
  samplesWithoutFace += 1;
  if (samplesWithoutFace < config.noFaceAfter || finishing) { return; }
  if (config.pauseWithoutFace && !video.paused) {
    pausedForFace = true;
    video.pause();
    startFaceChecks();
  }
  faceOverlay.textContent = pausedForFace
    ? "We can't see your face, so the video is paused. It goes on by itself once your face is back in the picture."
    : "We can't see your face: please sit facing the camera.";
  faceOverlay.hidden = false;
}

async function turnCameraOn() {
  try {
    camera.srcObject = await startCamera({ shareScreen: config.shareScreen });
    await camera.play();
    cameraReady = true;
    return true;
  } catch (error) {
    status.textContent = "The camera is needed to record your reactions. Please allow it and press Play again.";
    showIndicator("error", "Camera not available");
    return false;
  }
}

function grab(slot, mediaTime) {
  lastSlot = slot;
  drawFrame(camera, canvas, config.maxFrameSide);
  capture.send(mediaTime, canvasJpeg(canvas, JPEG_QUALITY));
}

// Send one frame for the slot whose capture instant the player has reached; a slot is never sent twice.
function sample() {
  if (!cameraReady || video.paused || video.seeking || camera.videoWidth === 0) { return; }
  const slot = dueSlot(video.currentTime, slotRules);
  if (slot <= lastSlot) { return; }
  grab(slot, sampleMediaTime(slot, slotRules));
}

// Playback ended (the player counts as paused by now): the slot due, and the last slot too when
// playback ended in it before its capture instant.
function sampleAtEnd() {
  if (!cameraReady || camera.videoWidth === 0) { return; }
  const slot = dueSlot(video.currentTime, slotRules);
  if (slot > lastSlot) { grab(slot, sampleMediaTime(slot, slotRules)); }
  const last = finalSample(video.currentTime, lastSlot, slotRules);
  if (last) { grab(last.slot, last.mediaTime); }
}

function resume() {
  if (furthest > 0 && furthest < video.duration) {
    video.currentTime = furthest;
    lastSlot = dueSlot(furthest, slotRules) - 1;
    status.textContent = "Welcome back: the video continues where you left off.";
  }
}
// A module runs once its imports have arrived, by which time the player may know the duration already.
if (video.readyState >= HTMLMediaElement.HAVE_METADATA) { resume(); } else { video.addEventListener("loadedmetadata", resume); }

toggle.addEventListener("click", async () => {
  if (!cameraReady && !(await turnCameraOn())) { return; }
  if (pausedForFace) {
    // The participant goes on by hand: a few more samples before the next pause.
    pausedForFace = false;
    samplesWithoutFace = 0;
    stopFaceChecks();
  }
  if (video.paused) { video.play(); } else { video.pause(); }
});
video.addEventListener("play", () => { toggle.textContent = "Pause"; status.textContent = ""; });
video.addEventListener("pause", () => { toggle.textContent = "Play"; });

// No skipping ahead: a seek beyond what was watched goes back to the furthest point.
video.addEventListener("seeking", () => {
  if (video.currentTime > furthest + SEEK_SLACK_SECONDS) { video.currentTime = furthest; }
});

video.addEventListener("timeupdate", () => {
  if (!video.seeking) { furthest = Math.max(furthest, video.currentTime); }
  if (video.duration) { progress.value = video.currentTime / video.duration; }
  sample();
  if (furthest - lastSaved >= SAVE_POSITION_EVERY_SECONDS) {
    lastSaved = furthest;
    postJson(config.positionUrl, { position: furthest }).catch(() => { /* saved again at the next update */ });
  }
});
// timeupdate fires only about four times a second; short intervals need a finer clock.
(function tick() { sample(); requestAnimationFrame(tick); })();

// A hidden tab cannot watch: pause until the participant comes back.
document.addEventListener("visibilitychange", () => {
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
    const response = await postJson(config.finishedUrl, { position: end });
    if (response.ok || response.status === 409) { finished(); return; }
    status.textContent = "The end of the video could not be recorded. Please reload the page.";
  } catch (error) {
    const delay = retryDelay(attempt + 1);
    status.textContent = "Connection problem; trying again in " + Math.round(delay / 1000) + " s…";
    setTimeout(() => reportFinished(attempt + 1), delay);
  }
}

function finished() {
  stopFaceChecks();
  faceOverlay.hidden = true;
  status.textContent = "Thank you for watching.";
  continueLink.hidden = false;
  toggle.disabled = true;
  stopCamera(camera);
}

video.addEventListener("ended", () => {
  if (finishing) { return; }
  finishing = true;
  sampleAtEnd();
  reportFinished(0);
});
function loadFailed() {
  status.textContent = "The video could not be loaded. Please reload the page; if it keeps failing, contact the organizer.";
}
if (video.error) { loadFailed(); }
video.addEventListener("error", loadFailed);

capture.start();
