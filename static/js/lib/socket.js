// A websocket to this site that comes back after the connection drops: it reconnects with a
// growing delay and stops for good on the close codes that say reconnecting cannot help
// (docs/protocol.md; the codes come from the page's configuration).

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

// How long to wait before the next try after so many failed ones in a row: 1 s, 2 s, 4 s … 30 s.
export function retryDelay(failures) {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * Math.pow(2, Math.max(0, failures - 1)));
}

export function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

// options.finalCodes: close codes after which it does not reconnect (onFinalClose(code) is told).
// options.triesBeforeUnreachable: after so many failed tries without ever opening, it stops and
// calls onUnreachable (by default it never gives up).
// The other handlers: onConnecting(), onOpen(), onMessage(reply), onRetrying(delay).
export class ReconnectingSocket {
  constructor(path, options) {
    this.url = socketUrl(path);
    this.options = options;
    this.finalCodes = new Set(options.finalCodes || []);
    this.socket = null;
    this.failures = 0;
    this.everOpened = false;
    this.stopped = false;
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) { return; }
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.notify("onConnecting");
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.everOpened = true;
      this.notify("onOpen");
    });
    socket.addEventListener("message", (event) => this.notify("onMessage", JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      // A socket this one has already let go of (closed on purpose, or replaced) says nothing.
      if (this.socket !== socket) { return; }
      this.socket = null;
      this.closed(event.code);
    });
  }

  closed(code) {
    if (this.finalCodes.has(code)) {
      this.stopped = true;
      this.notify("onFinalClose", code);
      return;
    }
    this.failures += 1;
    const triesBeforeUnreachable = this.options.triesBeforeUnreachable || Infinity;
    if (!this.everOpened && this.failures >= triesBeforeUnreachable) {
      this.stopped = true;
      this.notify("onUnreachable");
      return;
    }
    const delay = retryDelay(this.failures);
    this.notify("onRetrying", delay);
    setTimeout(() => this.connect(), delay);
  }

  // Sends when the socket is open; says whether it did.
  send(data) {
    if (!this.isOpen) { return false; }
    this.socket.send(data);
    return true;
  }

  close() {
    this.stopped = true;
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000);
    }
  }

  notify(handler, ...values) {
    if (this.options[handler]) { this.options[handler](...values); }
  }
}
