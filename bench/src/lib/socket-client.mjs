/**
 * The beat socket's counterpart of http-client.mjs's BeatConnection, with the same interface, so
 * the fleet simulator can drive either transport: one WebSocket to `/api/v1/heartbeat/socket`,
 * requests are beat bodies (JSON strings), several due at once go out back to back (at most
 * `pipeline` in flight), and each answer `{"status":…,"body":…}` is matched in order.
 */
import { WebSocket } from 'ws';

export class SocketBeatConnection {
  /**
   * @param {{ host: string, port: number, pipeline?: number, localAddress?: string,
   *   onResponse: (status: number, body: string, ctx: number, sentAt: number) => void,
   *   onFailure: (ctx: number, error: Error) => void }} options
   */
  constructor(options) {
    this.options = options;
    this.pipeline = options.pipeline ?? 1;
    this.queueBody = [];
    this.queueCtx = [];
    this.queueHead = 0;
    this.inflightCtx = [];
    this.inflightAt = [];
    this.connected = false;
    this.closed = false;
    this.reconnects = 0;
    this.errorCodes = {};
    this.open();
  }

  open() {
    const { host, port, localAddress } = this.options;
    const socket = new WebSocket(`ws://${host}:${port}/api/v1/heartbeat/socket`, { perMessageDeflate: false, localAddress });
    this.socket = socket;
    socket.on('open', () => {
      this.connected = true;
      this.pump();
    });
    socket.on('message', (data) => this.onMessage(data.toString()));
    socket.on('error', (error) => {
      const code = error.code ?? error.message;
      this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
    });
    socket.on('close', () => this.onClose());
  }

  get pending() {
    return this.queueBody.length - this.queueHead + this.inflightCtx.length;
  }

  get inflight() {
    return this.inflightCtx.length;
  }

  get oldestSentAt() {
    return this.inflightAt[0];
  }

  /** `body`: the beat's JSON (not an HTTP request: there is no request line or header on the socket). */
  send(body, ctx) {
    this.queueBody.push(body);
    this.queueCtx.push(ctx);
    if (this.connected && this.inflightCtx.length < this.pipeline) this.pump();
  }

  pump() {
    if (!this.connected || this.closed) return;
    const now = performance.now();
    while (this.inflightCtx.length < this.pipeline && this.queueHead < this.queueBody.length) {
      this.socket.send(this.queueBody[this.queueHead]);
      this.inflightCtx.push(this.queueCtx[this.queueHead]);
      this.inflightAt.push(now);
      this.queueBody[this.queueHead] = undefined;
      this.queueHead++;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queueBody.length) {
      this.queueBody = this.queueBody.slice(this.queueHead);
      this.queueCtx = this.queueCtx.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  onMessage(text) {
    // `{"status":200,"body":{…}}`: the status is at a fixed place, the body is the rest.
    const status = Number(text.slice(10, 13));
    const ctx = this.inflightCtx.shift();
    const sentAt = this.inflightAt.shift();
    if (ctx !== undefined) this.options.onResponse(status, text.slice(21, -1), ctx, sentAt);
    this.pump();
  }

  onClose() {
    if (!this.connected && !this.closed) this.errorCodes.closedBeforeConnect = (this.errorCodes.closedBeforeConnect ?? 0) + 1;
    else if (!this.closed && this.inflightCtx.length === 0) this.errorCodes.closedIdle = (this.errorCodes.closedIdle ?? 0) + 1;
    this.connected = false;
    const failed = this.inflightCtx;
    this.inflightCtx = [];
    this.inflightAt = [];
    const error = new Error('connection closed');
    for (const ctx of failed) this.options.onFailure(ctx, error);
    if (this.closed) return;
    this.reconnects++;
    setTimeout(() => this.open(), 100);
  }

  checkTimeout(now, timeoutMs) {
    if (this.inflightAt.length && now - this.inflightAt[0] > timeoutMs) {
      this.errorCodes.timeout = (this.errorCodes.timeout ?? 0) + 1;
      this.socket.terminate();
    }
  }

  close() {
    this.closed = true;
    this.socket.terminate();
  }
}
