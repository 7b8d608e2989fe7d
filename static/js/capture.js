// Frame transport for the watch page: a websocket with a bounded queue of unacknowledged
// frames that are re-sent after reconnecting (with backoff), and HTTP POST as the fallback.
// The protocol is described in docs/protocol.md.
(function () {
  "use strict";

  const MAX_PENDING = 300;
  const MAX_BACKOFF_MS = 30000;
  const FAILURES_BEFORE_HTTP = 3;
  const DROP_CODES = new Set(["bad_message", "bad_image", "too_large"]);

  const encoder = new TextEncoder();

  // A frame as one binary message: a JSON header line, a newline, then the JPEG's own bytes
  // (a third smaller than base64 in JSON, and the server skips decoding and checking text).
  function binaryFrame(message) {
    const header = encoder.encode(JSON.stringify({ type: "frame", seq: message.seq, media_time: message.media_time }) + "\n");
    const data = new Uint8Array(header.length + message.image.length);
    data.set(header, 0);
    data.set(message.image, header.length);
    return data;
  }

  function Capture(options) {
    this.socketUrl = options.socketUrl;
    this.postUrl = options.postUrl;
    this.onAck = options.onAck || function () {};
    this.onState = options.onState || function () {};
    this.pending = new Map(); // seq -> message, in insertion (seq) order
    this.seq = 0;
    this.socket = null;
    this.failures = 0;
    this.everOpened = false;
    this.useHttp = !("WebSocket" in window);
    this.stopped = false;
    this.dropped = 0;
    this.endWaiter = null;
  }

  Capture.prototype.start = function () {
    if (this.useHttp) { this.onState("http"); return; }
    this.connect();
  };

  Capture.prototype.connect = function () {
    if (this.stopped) { return; }
    const socket = new WebSocket(this.socketUrl);
    this.socket = socket;
    this.onState("connecting");
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.everOpened = true;
      this.onState("open");
      this.pending.forEach((message) => socket.send(binaryFrame(message)));
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) { return; }
      this.socket = null;
      if (event.code === 4409) { this.stopped = true; this.onState("replaced"); return; }
      if (event.code === 4403 || event.code === 4404) { this.stopped = true; this.onState("closed"); return; }
      this.failures += 1;
      if (!this.everOpened && this.failures >= FAILURES_BEFORE_HTTP) {
        this.useHttp = true;
        this.onState("http");
        this.flushHttp();
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, this.failures));
      this.onState("reconnecting");
      setTimeout(() => this.connect(), delay);
    });
  };

  Capture.prototype.receive = function (reply) {
    if (reply.type === "ack") {
      this.pending.delete(reply.seq);
      this.onAck(reply);
    } else if (reply.type === "error") {
      if (reply.code === "rate_limited") {
        // Keep the frame; it goes again with the next reconnect or retry.
        setTimeout(() => this.resend(reply.seq), 2000);
      } else if (DROP_CODES.has(reply.code)) {
        this.pending.delete(reply.seq);
      } else if (reply.code === "wrong_phase") {
        this.pending.delete(reply.seq);
      }
    } else if (reply.type === "ended" && this.endWaiter) {
      this.endWaiter(true);
    }
  };

  Capture.prototype.resend = function (seq) {
    const message = this.pending.get(seq);
    if (!message) { return; }
    if (this.useHttp) { this.post(message); return; }
    if (this.socket && this.socket.readyState === WebSocket.OPEN) { this.socket.send(binaryFrame(message)); }
  };

  // image: the JPEG's bytes (a Uint8Array), e.g. from Capture.canvasJpeg.
  Capture.prototype.send = function (mediaTime, image) {
    const message = { seq: this.seq++, media_time: mediaTime, image: image };
    if (this.pending.size >= MAX_PENDING) {
      // Bounded memory: the oldest unacknowledged frame gives way.
      const oldest = this.pending.keys().next().value;
      this.pending.delete(oldest);
      this.dropped += 1;
    }
    this.pending.set(message.seq, message);
    if (this.useHttp) { this.post(message); return; }
    if (this.socket && this.socket.readyState === WebSocket.OPEN) { this.socket.send(binaryFrame(message)); }
  };

  Capture.prototype.post = async function (message) {
    const form = new FormData();
    form.append("seq", String(message.seq));
    form.append("media_time", String(message.media_time));
    form.append("image", new Blob([message.image], { type: "image/jpeg" }), "frame.jpg");
    try {
      const response = await fetch(this.postUrl, { method: "POST", body: form });
      this.receive(await response.json());
    } catch (error) {
      setTimeout(() => this.resend(message.seq), 3000);
    }
  };

  Capture.prototype.flushHttp = function () {
    this.pending.forEach((message) => this.post(message));
  };

  // Wait until every frame is acknowledged (or the time runs out), then tell the server watching ended.
  Capture.prototype.finish = async function (mediaTime, timeoutMs) {
    const deadline = Date.now() + (timeoutMs || 15000);
    while (this.pending.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      const ended = new Promise((resolve) => { this.endWaiter = resolve; setTimeout(() => resolve(false), 5000); });
      this.socket.send(JSON.stringify({ type: "end", media_time: mediaTime }));
      const ok = await ended;
      this.stop();
      return ok;
    }
    this.stop();
    return false;
  };

  Capture.prototype.stop = function () {
    this.stopped = true;
    if (this.socket) { const socket = this.socket; this.socket = null; socket.close(1000); }
  };

  // The canvas's picture as JPEG bytes, synchronously (toBlob would let frames overtake each other).
  Capture.canvasJpeg = function (canvas, quality) {
    const dataUrl = canvas.toDataURL("image/jpeg", quality);
    const binary = atob(dataUrl.slice(dataUrl.indexOf(",") + 1));
    const bytes = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index += 1) { bytes[index] = binary.charCodeAt(index); }
    return bytes;
  };

  window.ReactionCapture = Capture;
})();
