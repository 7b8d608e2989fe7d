"""The watch page's frame transport (static/js/lib/capture.js) told ``busy`` (docs/protocol.md, *Overload*), in a
real Chromium against a stand-in websocket: it keeps the frame, holds back what it sends for the time the
server asked, then sends every frame it kept, and none is lost."""

from __future__ import annotations

import pytest

from tests.e2e.static_pages import static_page

pytestmark = pytest.mark.e2e

# A websocket that answers the first frame it gets "busy" (retry after 1 s) and acknowledges every other.
BUSY_ONCE = """async () => {
  const { Capture } = await import("/static/js/lib/capture.js");
  const received = [];
  class BusyOnceSocket {
    constructor() {
      this.readyState = 0;
      this.listeners = {};
      setTimeout(() => { this.readyState = BusyOnceSocket.OPEN; this.emit("open", {}); }, 10);
    }
    addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
    emit(type, event) { (this.listeners[type] || []).forEach((listener) => listener(event)); }
    send(data) {
      const text = new TextDecoder().decode(data);
      const header = JSON.parse(text.slice(0, text.indexOf("\\n")));
      received.push(header.seq);
      const reply = received.length === 1
        ? { type: "error", seq: header.seq, code: "busy", detail: "busy", retry_after: 1 }
        : { type: "ack", seq: header.seq, media_time: header.media_time, face: false, emotion: null };
      setTimeout(() => this.emit("message", { data: JSON.stringify(reply) }), 5);
    }
    close() {}
  }
  BusyOnceSocket.OPEN = 1;
  window.WebSocket = BusyOnceSocket;
  const acks = [];
  const capture = new Capture({
    socketPath: "/ws/capture/token/", postUrl: "/api/capture/token/frames/",
    closeCodes: { replaced: 4409, notAllowed: 4403, unknown: 4404 }, onAck: (ack) => acks.push(ack.seq),
  });
  capture.start();
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  await wait(50);
  capture.send(0.0, new Uint8Array([255, 216, 1]));
  await wait(100);
  // Taken while the server said it is busy: kept, not sent yet.
  capture.send(1.0, new Uint8Array([255, 216, 2]));
  capture.send(2.0, new Uint8Array([255, 216, 3]));
  await wait(300);
  const whileHeld = { received: [...received], pending: capture.pending.size };
  await wait(2500);
  return { whileHeld, received, acks, pending: capture.pending.size };
}"""


@pytest.fixture
def page(chromium, no_face_camera_video):  # type: ignore[no-untyped-def]
    return static_page(chromium(no_face_camera_video))


def test_a_busy_frame_is_kept_and_sent_again_with_the_frames_held_back_meanwhile(page):
    result = page.evaluate(BUSY_ONCE)
    assert result["whileHeld"] == {"received": [0], "pending": 3}
    assert result["received"] == [0, 0, 1, 2], "the busy frame again, then the held ones in order, each once"
    assert result["acks"] == [0, 1, 2] and result["pending"] == 0
