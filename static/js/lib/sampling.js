// When the watch page grabs a frame, and at which media time it files it (docs/protocol.md, "Capture offset").
//
// One frame per sampling slot of media time (slot = floor(t / interval + epsilon), the server's rule in
// screenings/rules/slots.py). Each participant grabs it at their own offset into the slot, given by the
// server (slots.capture_offset, fixed per participant), so that a crowd that pressed Play together does
// not send every frame at the same instant. A slot's media time is always slot * interval + offset:
// a frame sent again, or the slot sampled again after a reload, is the same sample.

// rules: { interval, offset, epsilon } from the page's configuration.
export function slotOf(mediaTime, rules) {
  return Math.floor(mediaTime / rules.interval + rules.epsilon);
}

// Milliseconds, the unit the server matches samples by.
function milliseconds(seconds) {
  return Math.round(seconds * 1000) / 1000;
}

// The media time a slot's frame is filed under: the capture instant within that slot.
export function sampleMediaTime(slot, rules) {
  return milliseconds(slot * rules.interval + rules.offset);
}

// The latest slot whose capture instant playback has reached at currentTime (-1 before the first).
export function dueSlot(currentTime, rules) {
  return slotOf(currentTime - rules.offset, rules);
}

// At the end of the stimulus: the last slot, if playback ended in it before its capture instant, with
// the end itself as its media time (still within the slot and within the stimulus); null otherwise.
export function finalSample(duration, lastSlot, rules) {
  const slot = slotOf(duration, rules);
  if (slot <= lastSlot) { return null; }
  return { slot: slot, mediaTime: Math.min(sampleMediaTime(slot, rules), milliseconds(duration)) };
}
