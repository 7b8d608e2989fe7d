// The stimulus replayed beside a chart: the chart's playhead follows the video, and whatever the
// page offers to seek with (the chart, a top moment, a scene) moves the video there.

// Keep `chart`'s playhead on `video`'s current time: every frame while playing, and on each seek.
export function followVideo(video, chart) {
  let frame = null;
  const follow = () => chart.setPlayhead(video.currentTime);
  const tick = () => {
    follow();
    frame = video.paused || video.ended ? null : requestAnimationFrame(tick);
  };
  video.addEventListener("play", () => { if (frame === null) { frame = requestAnimationFrame(tick); } });
  ["timeupdate", "seeked", "loadedmetadata"].forEach((name) => video.addEventListener(name, follow));
  follow();
}

// A function that seeks to a media time: the video when there is one (the playhead follows it),
// else only the playhead, which still marks the moment on the chart.
export function seeker(video, chart) {
  return (seconds) => {
    if (video) {
      video.currentTime = seconds;
    }
    chart.setPlayhead(seconds);
  };
}

// Buttons with data-seek="<seconds>" (top moments, scenes) seek when clicked.
export function bindSeekButtons(root, seek) {
  root.querySelectorAll("[data-seek]").forEach((button) => {
    button.addEventListener("click", () => seek(Number(button.dataset.seek)));
  });
}
