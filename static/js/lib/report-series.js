// The report's JSON (screenings/reports/builder.py) as the series static/js/lib/emotion-chart.js
// draws. No statistics here: a band is drawn only where the server sent its bounds.

// The audience's timeline: one curve per emotion, and the viewers in each bin as the strip.
// A bin may carry `lower` and `upper` ({emotion: bound}), the 95% interval across viewers.
export function timelineSeries(timeline, emotions, colours) {
  const bins = timeline.bins;
  const series = emotions.map((emotion) => {
    const entry = { label: emotion, colour: colours[emotion], values: bins.map((bin) => bin[emotion]) };
    if (bins.some((bin) => bin.lower && bin.upper && bin.lower[emotion] != null)) {
      entry.lower = bins.map((bin) => (bin.lower ? bin.lower[emotion] : null));
      entry.upper = bins.map((bin) => (bin.upper ? bin.upper[emotion] : null));
    }
    return entry;
  });
  return { times: bins.map((bin) => bin.start), series, viewers: bins.map((bin) => bin.participants) };
}

// One participant's samples: their own curve per emotion, a gap where no face was found.
export function participantSeries(samples, emotions, colours) {
  return {
    times: samples.map((sample) => sample.media_time),
    series: emotions.map((emotion) => ({
      label: emotion, colour: colours[emotion], values: samples.map((sample) => (sample.face ? sample[emotion] : null)),
    })),
    viewers: null,
  };
}

// Segments compared (screenings/reports/segments.py): one curve per segment for one emotion, on
// the times any of them has a bin; a segment without a face in a bin has a gap there.
export function segmentSeries(segments, emotion) {
  const times = [...new Set(segments.flatMap((segment) => segment.timeline.bins.map((bin) => bin.start)))]
    .sort((a, b) => a - b);
  const series = segments.map((segment) => {
    const byStart = new Map(segment.timeline.bins.map((bin) => [bin.start, bin[emotion]]));
    return {
      label: segment.name + " (" + emotion + ")", colour: segment.colour,
      values: times.map((time) => (byStart.has(time) ? byStart.get(time) : null)),
    };
  });
  return { times, series, viewers: null };
}
