"""The watch page's sampling rule (static/js/lib/sampling.js) in a real Chromium: each slot's frame at the
participant's offset into it, one per slot, filed under a media time within that slot."""

from __future__ import annotations

import pytest

from screenings.rules.slots import SLOT_EPSILON, capture_offset
from tests.e2e.static_pages import static_page

pytestmark = pytest.mark.e2e

# Playback as the page sees it: a tick per animation frame (60 a second) with timeupdate's jitter,
# and a stimulus ending in the middle of a slot or exactly on a slot's start.
PLAYBACK = """async ({ interval, offset, epsilon, duration }) => {
  const { dueSlot, finalSample, sampleMediaTime } = await import("/static/js/lib/sampling.js");
  const rules = { interval, offset, epsilon };
  const sent = [];
  let lastSlot = -1;
  for (let tick = 0; tick / 60 <= duration; tick += 1) {
    const currentTime = Math.min(duration, tick / 60 + (tick % 7) / 1000);
    const slot = dueSlot(currentTime, rules);
    if (slot > lastSlot) {
      lastSlot = slot;
      sent.push({ slot, mediaTime: sampleMediaTime(slot, rules), at: currentTime });
    }
  }
  const last = finalSample(duration, lastSlot, rules);
  if (last) { sent.push({ slot: last.slot, mediaTime: last.mediaTime, at: duration }); }
  return sent;
}"""


@pytest.fixture
def page(chromium, no_face_camera_video):  # type: ignore[no-untyped-def]
    return static_page(chromium(no_face_camera_video))


# Stimuli ending in the middle of a slot and exactly on a slot's start, for each sampling interval.
CASES = [(1.0, 18.0), (1.0, 17.5), (0.5, 9.3), (2.0, 20.0), (5.0, 31.0)]
TOKENS = ["participant-a", "participant-b", "participant-c"]


def test_each_slot_is_sampled_once_at_the_participants_offset_within_the_slot(page):
    for (interval, duration), token in [(case, token) for case in CASES for token in TOKENS]:
        offset = capture_offset(token, interval)
        assert offset > 0, "these tokens were picked for a non-zero offset"
        rules = {"interval": interval, "offset": offset, "epsilon": SLOT_EPSILON, "duration": duration}
        sent = page.evaluate(PLAYBACK, rules)
        slots = [frame["slot"] for frame in sent]
        assert slots == list(range(int(duration // interval) + 1)), "one frame per slot, none skipped, none twice"
        for frame in sent:
            start = frame["slot"] * interval
            assert start <= frame["mediaTime"] < start + interval, f"{frame} is outside its slot"
            assert frame["mediaTime"] <= duration
            assert frame["at"] >= frame["mediaTime"] - 1e-9, "a frame is not grabbed before its media time"
            if start + offset <= duration:
                assert frame["mediaTime"] == round(start + offset, 3), f"{frame} is not at the offset {offset}"
            else:
                assert frame["mediaTime"] == duration, "a slot cut short by the end is sampled at the end"


def test_a_reload_mid_slot_samples_that_slot_again_at_the_same_media_time(page):
    offset = capture_offset("participant-a", 1.0)
    rules = {"interval": 1.0, "offset": offset, "epsilon": SLOT_EPSILON}
    again = page.evaluate(
        """async ({ rules, resumeAt }) => {
          const { dueSlot, sampleMediaTime } = await import("/static/js/lib/sampling.js");
          const lastSlot = dueSlot(resumeAt, rules) - 1;  // what the page does on resuming
          const slot = dueSlot(resumeAt, rules);
          return slot > lastSlot ? sampleMediaTime(slot, rules) : null;
        }""",
        {"rules": rules, "resumeAt": 12 + offset + 0.2},
    )
    assert again == round(12 + offset, 3)
