// An interactive chart of emotion curves over a stimulus, drawn with the vendored uPlot
// (static/vendor/uplot/): hover values in the legend, drag to zoom, legend clicks hide and show a
// curve, a 95% band where a series carries `lower`/`upper`, the number of viewers behind each point
// as a grey strip on its own axis, scene bands with their names, and a playhead the page moves.
//
// It takes series, not a report: static/js/lib/report-series.js turns the report's JSON into them,
// so overlaid segment curves are more series, and their bands more `lower`/`upper` arrays.
import uPlot from "../../vendor/uplot/uPlot.esm.js";

const VIEWERS_COLOUR = "#9e9e9e";
// The viewers' strip takes the lowest quarter of the plot, under the curves.
const VIEWERS_STRIP_SHARE = 4;
const SCENE_SHADES = ["rgba(31, 41, 55, 0.05)", "rgba(31, 41, 55, 0.10)"];
// A press that moves less than this (CSS pixels) is a click that seeks, not a drag that zooms.
const CLICK_SLOP = 4;

export function formatMediaTime(seconds) {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  return minutes + ":" + String(whole % 60).padStart(2, "0");
}

// A colour with an alpha, for the bands: "#1f77b4" -> "rgba(31, 119, 180, 0.18)".
function translucent(colour, alpha) {
  const hex = colour.replace("#", "");
  const [red, green, blue] = [0, 2, 4].map((start) => parseInt(hex.slice(start, start + 2), 16));
  return "rgba(" + red + ", " + green + ", " + blue + ", " + alpha + ")";
}

function clipToPlot(u, draw) {
  const { left, top, width, height } = u.bbox;
  u.ctx.save();
  u.ctx.beginPath();
  u.ctx.rect(left, top, width, height);
  u.ctx.clip();
  draw(u.ctx, u.bbox);
  u.ctx.restore();
}

function drawScenes(u, scenes) {
  clipToPlot(u, (ctx, box) => {
    ctx.font = Math.round(11 * devicePixelRatio) + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    scenes.forEach((scene, index) => {
      const left = u.valToPos(scene.start, "x", true);
      const right = u.valToPos(scene.end, "x", true);
      ctx.fillStyle = SCENE_SHADES[index % SCENE_SHADES.length];
      ctx.fillRect(left, box.top, right - left, box.height);
      ctx.fillStyle = "#4b5563";
      ctx.fillText(scene.label, Math.max(left, box.left) + 4 * devicePixelRatio, box.top + 3 * devicePixelRatio);
    });
  });
}

// The band between a series' lower and upper bounds; a gap wherever either is missing.
function drawBand(u, times, band) {
  clipToPlot(u, (ctx) => {
    ctx.fillStyle = translucent(band.colour, 0.18);
    let run = [];
    const fill = () => {
      if (run.length > 1) {
        ctx.beginPath();
        run.forEach((index, position) => {
          const x = u.valToPos(times[index], "x", true);
          const y = u.valToPos(band.upper[index], "p", true);
          if (position === 0) { ctx.moveTo(x, y); } else { ctx.lineTo(x, y); }
        });
        run.slice().reverse().forEach((index) => {
          ctx.lineTo(u.valToPos(times[index], "x", true), u.valToPos(band.lower[index], "p", true));
        });
        ctx.closePath();
        ctx.fill();
      }
      run = [];
    };
    times.forEach((_, index) => {
      if (band.lower[index] == null || band.upper[index] == null) { fill(); } else { run.push(index); }
    });
    fill();
  });
}

function axisValues(u, values) { return values.map(formatMediaTime); }

function chartOptions(options, size, bands, handlers) {
  const { series, viewers, scenes } = options;
  const timeText = options.xFormat || ((value) => value.toFixed(1) + " s");
  const viewersMax = viewers ? Math.max(1, ...viewers.filter((n) => n != null)) : 0;
  const curves = series.map((entry) => ({
    label: entry.label, stroke: entry.colour, width: entry.width || 2, scale: "p", spanGaps: Boolean(entry.spanGaps),
    points: { show: false }, value: (u, value) => (value == null ? "–" : value.toFixed(3)),
  }));
  const strip = viewers ? [{
    label: "viewers", scale: "viewers", stroke: VIEWERS_COLOUR, width: 1, fill: translucent(VIEWERS_COLOUR, 0.3),
    paths: uPlot.paths.stepped({ align: 1 }), points: { show: false },
    value: (u, value) => (value == null ? "–" : String(value)),
  }] : [];
  return {
    width: size.width, height: size.height,
    scales: {
      x: { time: false },
      p: { range: options.range || [0, 1] },
      viewers: { range: () => [0, viewersMax * VIEWERS_STRIP_SHARE] },
    },
    series: [{ label: "time", value: (u, value) => (value == null ? "–" : timeText(value)) }, ...curves, ...strip],
    axes: [
      { label: options.xLabel || "media time (m:ss)", values: options.xFormat ? (u, values) => values.map(options.xFormat) : axisValues },
      { scale: "p", label: options.yLabel || "probability", values: (u, values) => values.map((value) => value.toFixed(2)) },
      ...(viewers ? [{
        scale: "viewers", side: 1, label: "viewers", grid: { show: false },
        splits: () => (viewersMax > 1 ? [0, Math.round(viewersMax / 2), viewersMax] : [0, viewersMax]),
      }] : []),
    ],
    cursor: {
      drag: { x: true, y: false, setScale: true },
      bind: { dblclick: () => () => { handlers.reset(); return null; } },
    },
    legend: { live: true },
    hooks: {
      drawClear: [(u) => drawScenes(u, scenes || [])],
      drawSeries: [(u, index) => {
        const band = bands[index];
        if (band && u.series[index].show) { drawBand(u, options.times, band); }
      }],
      setScale: [(u, key) => { if (key === "x") { handlers.placePlayhead(); } }],
    },
  };
}

// Draw `options.series` (each {label, colour, values, lower?, upper?, spanGaps?}) against
// `options.times` (seconds) into `container`. `range` ([0, 1]), `yLabel` ("probability"), `xLabel`
// and `xFormat` (a time's text) suit other curves and axes (valence from -1 to 1, a share of the
// stimulus). `viewers` (counts, optional) is the strip; `scenes` ({start, end, label}) the bands; `duration` the stimulus's length, the x axis's full extent; `onSeek(seconds)`
// is called when the chart is clicked. Returns the plot and what the page moves: the playhead,
// the zoom (`reset`, `pan`).
export function drawEmotionChart(container, options) {
  const times = options.times;
  const fullEnd = Math.max(options.duration || 0, times.length ? times[times.length - 1] : 0, 1);
  const bands = {};
  options.series.forEach((entry, index) => {
    if (entry.lower && entry.upper) { bands[index + 1] = { colour: entry.colour, lower: entry.lower, upper: entry.upper }; }
  });
  const size = () => ({ width: Math.max(container.clientWidth, 240), height: options.height || 320 });
  let plot = null;
  let playheadAt = null;
  const playhead = document.createElement("div");
  playhead.className = "chart-playhead";
  playhead.hidden = true;

  function placePlayhead() {
    if (plot === null || playheadAt === null) { return; }
    const { min, max } = plot.scales.x;
    playhead.hidden = playheadAt < min || playheadAt > max;
    playhead.style.left = plot.valToPos(playheadAt, "x") + "px";
  }
  function setWindow(start, end) { plot.setScale("x", { min: start, max: end }); }
  function reset() { setWindow(0, fullEnd); }
  // Move the zoomed window by a share of its width (negative: earlier), within the stimulus.
  function pan(share) {
    const { min, max } = plot.scales.x;
    const width = max - min;
    const start = Math.min(Math.max(min + share * width, 0), Math.max(fullEnd - width, 0));
    setWindow(start, start + width);
  }

  const data = [times, ...options.series.map((entry) => entry.values), ...(options.viewers ? [options.viewers] : [])];
  plot = new uPlot(chartOptions(options, size(), bands, { reset, placePlayhead }), data, container);
  plot.over.append(playhead);
  reset();

  let pressedAt = null;
  plot.over.addEventListener("mousedown", (event) => { pressedAt = event.clientX; });
  plot.over.addEventListener("click", (event) => {
    if (pressedAt === null || Math.abs(event.clientX - pressedAt) > CLICK_SLOP) { return; }
    const left = event.clientX - plot.over.getBoundingClientRect().left;
    const seconds = Math.min(Math.max(plot.posToVal(left, "x"), 0), fullEnd);
    if (options.onSeek) { options.onSeek(seconds); }
  });
  const resizing = new ResizeObserver(() => { plot.setSize(size()); placePlayhead(); });
  resizing.observe(container);

  return {
    plot,
    reset,
    pan,
    setPlayhead(seconds) { playheadAt = seconds; placePlayhead(); },
    playheadAt() { return playheadAt; },
    destroy() { resizing.disconnect(); plot.destroy(); },
  };
}
