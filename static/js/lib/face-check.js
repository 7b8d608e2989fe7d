// The face check: one picture of the camera sent to the server, which answers whether the face is
// seen and lit, with guidance in plain words. Nothing is stored (docs/protocol.md, "Face check").
import { JPEG_QUALITY, drawFrame } from "./camera.js";
import { postForm } from "./http.js";

// Resolves to the server's answer ({face, light, problem, guidance}), or null when there was no
// picture yet or no answer came (the caller tries again at its next turn).
export async function checkFace(url, video, canvas, maxSide) {
  if (!drawFrame(video, canvas, maxSide)) { return null; }
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  if (!blob) { return null; }
  const form = new FormData();
  form.append("image", blob, "preview.jpg");
  try {
    const response = await postForm(url, form);
    return response.ok ? await response.json() : null;
  } catch (error) {
    return null;
  }
}
