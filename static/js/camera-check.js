// Camera check: show the participant what the camera sees and let them start only once it works.
import { startCamera } from "./lib/camera.js";
import { readConfig } from "./lib/config.js";

const { shareScreen } = readConfig("camera-config");
const preview = document.getElementById("camera-preview");
const status = document.getElementById("camera-status");
const proceed = document.getElementById("camera-continue");
const retry = document.getElementById("camera-retry");

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

async function start() {
  proceed.disabled = true;
  retry.hidden = true;
  status.textContent = shareScreen ? "Asking your browser to share the screen…" : "Asking your browser for the camera…";
  try {
    preview.srcObject = await startCamera({ shareScreen });
    status.textContent = "The camera works. Make sure your face is in the picture, then start the video.";
    proceed.disabled = false;
  } catch (error) {
    status.textContent = explain(error);
    status.classList.add("error");
    retry.hidden = false;
  }
}

retry.addEventListener("click", start);
start();
