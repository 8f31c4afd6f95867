// @ts-check
// JSON-RPC 2.0 over one WebSocket to the page's own origin: calls, subscriptions, and a
// reconnect with capped exponential backoff that re-opens every live subscription.

/** How long a call may take before it fails, in milliseconds. */
const CALL_TIMEOUT_MS = 15000;
/** The first and the longest wait before reconnecting, in milliseconds. */
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

/** The codes the page reacts to; the API documents them all. */
export const UNAUTHORIZED = -32001;
export const NOT_FOUND = -32002;
export const METHOD_NOT_FOUND = -32601;
/** Used by this page only, for a call the connection dropped or that took too long. */
export const DISCONNECTED = -1;

/** An error answer of the server, or a call that could not be made. */
export class RpcError extends Error {
  /**
   * @param {number} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * @typedef {{resolve: (value: unknown) => void, reject: (error: RpcError) => void,
 *   timer: ReturnType<typeof setTimeout>}} Pending
 * @typedef {{method: string, params: Record<string, unknown>,
 *   onResult: (result: any) => void, onEnd: (error: RpcError) => void,
 *   serverId: string | null, closed: boolean, starting: boolean}} Sub
 * @typedef {'connecting' | 'open' | 'closed'} State
 */

export class Rpc {
  /**
   * @param {string} url `ws://host/` or `wss://host/`
   * @param {(state: State) => void} onState told of every change of the connection
   */
  constructor(url, onState) {
    this.url = url;
    this.onState = onState;
    this.nextId = 1;
    /** @type {Map<number, Pending>} answers awaited, by request id */
    this.pending = new Map();
    /** @type {Set<Sub>} subscriptions the page holds, re-opened after a reconnect */
    this.subs = new Set();
    /** @type {Map<string, Sub>} the same, by the id the server gave them */
    this.byServerId = new Map();
    /** @type {Array<() => void>} calls made while connecting, sent once open */
    this.waiting = [];
    this.backoff = BACKOFF_MIN_MS;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.stopped = false;
    this.open();
  }

  open() {
    this.onState('connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = BACKOFF_MIN_MS;
      for (const sub of this.subs) this.start(sub);
      for (const send of this.waiting.splice(0)) send();
      // Last: a listener may close the subscriptions just re-opened and open its own.
      this.onState('open');
    };
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onclose = () => this.dropped(socket);
  }

  /** @param {WebSocket} socket */
  dropped(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new RpcError(DISCONNECTED, 'the connection to the supervisor was lost'));
      this.pending.delete(id);
    }
    this.byServerId.clear();
    for (const sub of this.subs) sub.serverId = null;
    this.onState('closed');
    if (this.stopped) return;
    // Jitter keeps many tabs from reconnecting in step after a restart.
    const wait = this.backoff * (0.5 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    setTimeout(() => this.stopped || this.open(), wait);
  }

  /** @param {string} text */
  receive(text) {
    /** @type {any} */
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return; // not JSON-RPC: nothing to answer
    }
    if (message.method && message.params) {
      const sub = this.byServerId.get(String(message.params.subscription));
      if (!sub) return;
      if (message.params.error) {
        this.ended(sub, new RpcError(message.params.error.code, message.params.error.message));
      } else {
        sub.onResult(message.params.result);
      }
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) {
      pending.reject(new RpcError(message.error.code, String(message.error.message)));
    } else {
      pending.resolve(message.result);
    }
  }

  /**
   * Calls `method`.
   * @param {string} method
   * @param {Record<string, unknown> | unknown[]} params by name, or by position
   * @returns {Promise<any>}
   */
  call(method, params) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(DISCONNECTED, `${method}: no answer within ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
      const send = () => {
        if (!this.pending.has(id)) return; // timed out while connecting
        this.socket?.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      };
      this.pending.set(id, { resolve, reject, timer });
      if (this.socket?.readyState === WebSocket.OPEN) send();
      else this.waiting.push(send);
    });
  }

  /**
   * Opens a subscription that lives until `close()`, re-opened after every reconnect.
   * `onEnd` hears when the server ended it (events may have been missed: re-read what is
   * shown) and when re-opening it failed.
   * @param {string} method `jobs.subscribe` or `runner_logs.subscribe`
   * @param {Record<string, unknown>} params
   * @param {(result: any) => void} onResult
   * @param {(error: RpcError) => void} onEnd
   */
  subscribe(method, params, onResult, onEnd) {
    /** @type {Sub} */
    const sub = { method, params, onResult, onEnd, serverId: null, closed: false, starting: false };
    this.subs.add(sub);
    if (this.socket?.readyState === WebSocket.OPEN) this.start(sub);
    return {
      close: () => {
        sub.closed = true;
        this.subs.delete(sub);
        if (sub.serverId === null) return;
        this.byServerId.delete(sub.serverId);
        // The page no longer listens; whether the server still knew it does not matter.
        this.unsubscribe(method, sub.serverId);
      },
    };
  }

  /**
   * Opens `sub` on the server, unless it is open or being opened: a reconnect and the retry
   * after a server-ended subscription may both ask, and two server subscriptions would
   * deliver every event twice.
   * @param {Sub} sub
   */
  async start(sub) {
    if (sub.starting || sub.serverId !== null) return;
    sub.starting = true;
    try {
      const id = String(await this.call(sub.method, sub.params));
      if (sub.closed) {
        this.unsubscribe(sub.method, id); // closed while opening: only tidying up
        return;
      }
      sub.serverId = id;
      this.byServerId.set(id, sub);
    } catch (error) {
      sub.starting = false;
      // A lost connection re-opens every subscription once it is back.
      if (error instanceof RpcError && error.code !== DISCONNECTED) this.ended(sub, error);
      return;
    }
    sub.starting = false;
  }

  /**
   * Ends a subscription on the server, ignoring the answer.
   * @param {string} method the subscribe method
   * @param {string} id
   */
  unsubscribe(method, id) {
    this.call(method.replace('.subscribe', '.unsubscribe'), { subscription: id }).catch(() => {});
  }

  /**
   * @param {Sub} sub
   * @param {RpcError} error
   */
  ended(sub, error) {
    if (sub.serverId !== null) this.byServerId.delete(sub.serverId);
    sub.serverId = null;
    if (sub.closed) return;
    sub.onEnd(error);
    // Missed events (a slow reader, a store outage) are not the end of interest: subscribe
    // again after a pause. A refused secret is.
    if (error.code !== UNAUTHORIZED && error.code !== NOT_FOUND) {
      setTimeout(() => {
        if (!sub.closed && this.socket?.readyState === WebSocket.OPEN) this.start(sub);
      }, 1000);
    }
  }

  /** Closes the connection for good. */
  stop() {
    this.stopped = true;
    this.subs.clear();
    this.socket?.close();
  }
}

/** The WebSocket URL of the page's own origin. */
export function ownOrigin() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/`;
}
