// The picture the server reads faces from: the webcam, or a shared screen for screenings that
// read faces from a video call. The camera check and the watch page ask for it the same way.
const CAMERA = { video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false };
const SCREEN = { video: true, audio: false };

export async function startCamera({ shareScreen }) {
  return shareScreen
    ? navigator.mediaDevices.getDisplayMedia(SCREEN)
    : navigator.mediaDevices.getUserMedia(CAMERA);
}

export function stopCamera(video) {
  const stream = video.srcObject;
  if (stream) { stream.getTracks().forEach((track) => track.stop()); }
}

// The widest picture sent to the server: enough for the face detector, small enough to send often.
export const FRAME_WIDTH = 480;
export const JPEG_QUALITY = 0.8;

// Draw the video's current picture onto the canvas, at most FRAME_WIDTH wide and never a side
// longer than maxSide (the server's limit); false while the video has no picture yet.
export function drawFrame(video, canvas, maxSide) {
  if (!video.videoWidth) { return false; }
  const scale = Math.min(1, FRAME_WIDTH / video.videoWidth, maxSide / Math.max(video.videoWidth, video.videoHeight));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * canvas.width / video.videoWidth);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return true;
}
