// Frame transport for the watch page: a websocket with a bounded queue of unacknowledged
// frames that are re-sent after reconnecting (with backoff), and HTTP POST as the fallback.
// The protocol is described in docs/protocol.md.
import { ReconnectingSocket } from "./socket.js";

const MAX_PENDING = 300;
const TRIES_BEFORE_HTTP = 3;
// After "busy" (docs/protocol.md): wait the server's retry_after, doubled for every "busy" in a row
// up to this, and a random part more, so that a crowd told to wait does not come back at one instant.
const MAX_BUSY_WAIT_MS = 30000;
const DROP_CODES = new Set(["bad_message", "bad_image", "too_large", "wrong_phase"]);

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

// The canvas's picture as JPEG bytes, synchronously (toBlob would let frames overtake each other).
export function canvasJpeg(canvas, quality) {
  const dataUrl = canvas.toDataURL("image/jpeg", quality);
  const binary = atob(dataUrl.slice(dataUrl.indexOf(",") + 1));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) { bytes[index] = binary.charCodeAt(index); }
  return bytes;
}

// options: socketPath, postUrl, closeCodes (from the page's configuration), onAck(ack), onState(state)
// where state is connecting, open, reconnecting, replaced, closed or http.
export class Capture {
  constructor(options) {
    this.postUrl = options.postUrl;
    this.onAck = options.onAck || function () {};
    this.onState = options.onState || function () {};
    this.closeCodes = options.closeCodes;
    this.pending = new Map(); // seq -> message, in insertion (seq) order
    this.seq = 0;
    this.useHttp = !("WebSocket" in window);
    this.dropped = 0;
    this.endWaiter = null;
    this.busyInARow = 0;
    this.holdUntil = 0; // while the server is busy, frames wait in the queue until this time
    this.held = new Set(); // seqs of the frames waiting for it
    this.holdTimer = null;
    this.socket = new ReconnectingSocket(options.socketPath, {
      finalCodes: [this.closeCodes.replaced, this.closeCodes.notAllowed, this.closeCodes.unknown],
      triesBeforeUnreachable: TRIES_BEFORE_HTTP,
      onConnecting: () => this.onState("connecting"),
      onOpen: () => {
        this.onState("open");
        this.pending.forEach((message) => this.transmit(message));
      },
      onMessage: (reply) => this.receive(reply),
      onRetrying: () => this.onState("reconnecting"),
      onFinalClose: (code) => this.onState(code === this.closeCodes.replaced ? "replaced" : "closed"),
      onUnreachable: () => {
        this.useHttp = true;
        this.onState("http");
        this.flushHttp();
      },
    });
  }

  start() {
    if (this.useHttp) { this.onState("http"); return; }
    this.socket.connect();
  }

  receive(reply) {
    if (reply.type === "ack") {
      this.pending.delete(reply.seq);
      this.busyInARow = 0;
      this.onAck(reply);
    } else if (reply.type === "error") {
      if (this.endWaiter && (reply.code === "not_finished" || reply.code === "wrong_phase") && reply.seq == null) {
        // The server refused the end: say so now rather than after the wait runs out.
        this.endWaiter(false);
        return;
      }
      if (reply.code === "busy") {
        // The server reads as many frames as it can: keep the frame, and send nothing for a while.
        this.holdBack(reply.seq, reply.retry_after);
      } else if (reply.code === "rate_limited") {
        // Keep the frame; it goes again with the next reconnect or retry.
        setTimeout(() => this.resend(reply.seq), 2000);
      } else if (DROP_CODES.has(reply.code)) {
        this.pending.delete(reply.seq);
      }
    } else if (reply.type === "ended" && this.endWaiter) {
      this.endWaiter(true);
    }
  }

  transmit(message) {
    if (Date.now() < this.holdUntil) { this.held.add(message.seq); return; }
    if (this.useHttp) { this.post(message); return; }
    this.socket.send(binaryFrame(message));
  }

  holdBack(seq, retryAfterSeconds) {
    this.busyInARow += 1;
    const base = Math.max(1, Number(retryAfterSeconds) || 1) * 1000 * 2 ** (this.busyInARow - 1);
    const wait = Math.min(MAX_BUSY_WAIT_MS, base) * (1 + Math.random() / 2);
    this.holdUntil = Math.max(this.holdUntil, Date.now() + wait);
    if (this.pending.has(seq)) { this.held.add(seq); }
    if (this.holdTimer === null) { this.holdTimer = setTimeout(() => this.sendHeld(), this.holdUntil - Date.now()); }
  }

  // The frames held back, in the order they were taken, once the wait is over.
  sendHeld() {
    const left = this.holdUntil - Date.now();
    if (left > 0) { this.holdTimer = setTimeout(() => this.sendHeld(), left); return; }
    this.holdTimer = null;
    const seqs = Array.from(this.held).sort((a, b) => a - b);
    this.held.clear();
    seqs.forEach((seq) => this.resend(seq));
  }

  resend(seq) {
    const message = this.pending.get(seq);
    if (message) { this.transmit(message); }
  }

  // image: the JPEG's bytes (a Uint8Array), e.g. from canvasJpeg.
  send(mediaTime, image) {
    const message = { seq: this.seq++, media_time: mediaTime, image: image };
    if (this.pending.size >= MAX_PENDING) {
      // Bounded memory: the oldest unacknowledged frame gives way.
      const oldest = this.pending.keys().next().value;
      this.pending.delete(oldest);
      this.dropped += 1;
    }
    this.pending.set(message.seq, message);
    this.transmit(message);
  }

  async post(message) {
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
  }

  flushHttp() {
    this.pending.forEach((message) => this.transmit(message));
  }

  // Wait until every frame is acknowledged (or the time runs out), then tell the server watching ended.
  async finish(mediaTime, timeoutMs) {
    const deadline = Date.now() + (timeoutMs || 15000);
    while (this.pending.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (this.socket.isOpen) {
      const ended = new Promise((resolve) => { this.endWaiter = resolve; setTimeout(() => resolve(false), 5000); });
      this.socket.send(JSON.stringify({ type: "end", media_time: mediaTime }));
      const ok = await ended;
      this.stop();
      return ok;
    }
    this.stop();
    return false;
  }

  stop() {
    this.socket.close();
  }
}
