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
