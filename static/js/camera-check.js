// Camera check: show the participant what the camera sees, check a few pictures for their face
// (the server answers with guidance in plain words), and let them start once it works: with
// requireFaceCheck, only once the server has seen their face (it remembers; the start is refused otherwise).
import { startCamera } from "./lib/camera.js";
import { readConfig } from "./lib/config.js";
import { checkFace } from "./lib/face-check.js";

const config = readConfig("camera-config");
const { shareScreen } = config;
const preview = document.getElementById("camera-preview");
const status = document.getElementById("camera-status");
const guidance = document.getElementById("camera-guidance");
const proceed = document.getElementById("camera-continue");
const retry = document.getElementById("camera-retry");
const canvas = document.createElement("canvas");
let cameraWorks = false;
let faceSeen = config.faceSeen;
let checking = null;

function explain(error) {
  if (!navigator.mediaDevices) {
    return "This browser cannot use a camera on this page. Please open the link in a current Chrome, Firefox, Edge or Safari.";
  }
  if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
    return shareScreen
      ? "Screen sharing was not allowed. This screening needs it to read reactions: allow it and try again, or leave the study below."
      : "The camera was not allowed. This screening needs it to read your reactions: allow the camera in your browser's address bar and try again, or leave the study below.";
  }
  if (error && error.name === "NotFoundError") {
    return "No camera was found. Please connect a webcam and try again.";
  }
  if (error && error.name === "NotReadableError") {
    return "The camera is in use by another program. Close it and try again.";
  }
  return "The camera could not be started" + (error && error.message ? " (" + error.message + ")" : "") + ".";
}

function updateStart() {
  proceed.disabled = !cameraWorks || (config.requireFaceCheck && !faceSeen);
}

function showCheck(answer) {
  guidance.textContent = answer.guidance;
  guidance.className = "camera-guidance " + (answer.problem ? "problem" : "ok");
  if (answer.face) {
    faceSeen = true;
    status.textContent = "The camera works and your face is seen. Start the video when you are ready.";
  } else if (config.requireFaceCheck && !faceSeen) {
    status.textContent = "The camera works. The video can start once your face is seen.";
  }
  updateStart();
}

// One check at a time, every checkEveryMs while the page is in sight.
async function checkOnce() {
  if (document.hidden) { return; }
  const answer = await checkFace(config.checkUrl, preview, canvas, config.maxFrameSide);
  if (answer) { showCheck(answer); }
}

function startChecking() {
  if (checking) { return; }
  checkOnce();
  checking = setInterval(checkOnce, config.checkEveryMs);
}

async function start() {
  cameraWorks = false;
  updateStart();
  retry.hidden = true;
  status.classList.remove("error");
  status.textContent = shareScreen ? "Asking your browser to share the screen…" : "Asking your browser for the camera…";
  try {
    preview.srcObject = await startCamera({ shareScreen });
    cameraWorks = true;
    status.textContent = config.requireFaceCheck && !faceSeen
      ? "The camera works. Checking that your face can be seen…"
      : "The camera works. Make sure your face is in the picture, then start the video.";
    updateStart();
    startChecking();
  } catch (error) {
    status.textContent = explain(error);
    status.classList.add("error");
    retry.hidden = false;
  }
}

retry.addEventListener("click", start);
start();
