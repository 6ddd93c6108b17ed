/**
 * A minimal HTTP/1.1 keep-alive client on a raw socket, built to generate beats cheaply: requests
 * are pre-formatted strings, several requests due at once on one connection go out in one write
 * (pipelining, at most `pipeline` in flight), and responses are parsed just enough to get the
 * status and the body (Content-Length framing; both servers under test always send it).
 *
 * `ctx` is a number the caller uses to recognise its request (an instance index).
 */
import { connect } from 'node:net';

const CONTENT_LENGTH = /content-length:\s*(\d+)/i;

export class BeatConnection {
  /**
   * @param {{ host: string, port: number, pipeline?: number, localAddress?: string,
   *   onResponse: (status: number, body: string, ctx: number, sentAt: number) => void,
   *   onFailure: (ctx: number, error: Error) => void }} options
   */
  constructor(options) {
    this.options = options;
    this.pipeline = options.pipeline ?? 1;
    this.queueReq = [];
    this.queueCtx = [];
    this.queueHead = 0;
    this.inflightCtx = [];
    this.inflightAt = [];
    this.buffer = '';
    this.connected = false;
    this.closed = false;
    this.reconnects = 0;
    /** Socket errors seen, by code (ECONNRESET...), for the load generator's stats. */
    this.errorCodes = {};
    this.open();
  }

  open() {
    const socket = connect({ host: this.options.host, port: this.options.port, localAddress: this.options.localAddress });
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.pump();
    });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('end', () => {
      this.errorCodes.closedByServer = (this.errorCodes.closedByServer ?? 0) + 1;
    });
    socket.on('error', (error) => {
      const code = error.code ?? error.message;
      this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
    });
    socket.on('close', () => this.onClose());
  }

  get pending() {
    return this.queueReq.length - this.queueHead + this.inflightCtx.length;
  }

  get inflight() {
    return this.inflightCtx.length;
  }

  /** The send time of the oldest request still waiting for its answer (or undefined). */
  get oldestSentAt() {
    return this.inflightAt[0];
  }

  send(request, ctx) {
    this.queueReq.push(request);
    this.queueCtx.push(ctx);
    if (this.connected && this.inflightCtx.length < this.pipeline) this.pump();
  }

  /** Writes as many queued requests as the pipeline allows, in one write. */
  pump() {
    if (!this.connected || this.closed) return;
    let room = this.pipeline - this.inflightCtx.length;
    if (room <= 0 || this.queueHead >= this.queueReq.length) return;
    const now = performance.now();
    const out = [];
    while (room > 0 && this.queueHead < this.queueReq.length) {
      out.push(this.queueReq[this.queueHead]);
      this.inflightCtx.push(this.queueCtx[this.queueHead]);
      this.inflightAt.push(now);
      this.queueReq[this.queueHead] = undefined;
      this.queueHead++;
      room--;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queueReq.length) {
      this.queueReq = this.queueReq.slice(this.queueHead);
      this.queueCtx = this.queueCtx.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.write(out);
  }

  /** Sends requests due together: HTTP pipelining, in one write. */
  write(requests) {
    this.socket.write(requests.join(''), 'latin1');
  }

  /** The answer to the oldest request in flight. */
  answered(status, body) {
    const ctx = this.inflightCtx.shift();
    const sentAt = this.inflightAt.shift();
    if (ctx !== undefined) this.options.onResponse(status, body, ctx, sentAt);
  }

  onData(chunk) {
    let buf = this.buffer.length ? this.buffer + chunk : chunk;
    let pos = 0;
    for (;;) {
      const headerEnd = buf.indexOf('\r\n\r\n', pos);
      if (headerEnd === -1) break;
      const status = Number(buf.slice(pos + 9, pos + 12));
      const match = CONTENT_LENGTH.exec(buf.slice(pos, headerEnd));
      if (!match) {
        this.socket.destroy(new Error('response without content-length'));
        return;
      }
      const bodyStart = headerEnd + 4;
      const bodyEnd = bodyStart + Number(match[1]);
      if (buf.length < bodyEnd) break;
      const body = buf.slice(bodyStart, bodyEnd);
      pos = bodyEnd;
      this.answered(status, body);
    }
    this.buffer = pos === buf.length ? '' : buf.slice(pos);
    this.pump();
  }

  onClose() {
    if (!this.connected && !this.closed) this.errorCodes.closedBeforeConnect = (this.errorCodes.closedBeforeConnect ?? 0) + 1;
    else if (!this.closed && this.inflightCtx.length === 0) this.errorCodes.closedIdle = (this.errorCodes.closedIdle ?? 0) + 1;
    this.connected = false;
    this.buffer = '';
    const failed = this.inflightCtx;
    this.inflightCtx = [];
    this.inflightAt = [];
    const error = new Error('connection closed');
    for (const ctx of failed) this.options.onFailure(ctx, error);
    if (this.closed) return;
    this.reconnects++;
    setTimeout(() => this.open(), 100);
  }

  /** Drops a connection whose oldest request waited longer than `timeoutMs` (its requests fail). */
  checkTimeout(now, timeoutMs) {
    if (this.inflightAt.length && now - this.inflightAt[0] > timeoutMs) {
      this.errorCodes.timeout = (this.errorCodes.timeout ?? 0) + 1;
      this.destroySocket();
    }
  }

  close() {
    this.closed = true;
    this.destroySocket();
  }

  destroySocket() {
    this.socket.destroy();
  }
}

/**
 * Sends one request per item over `connections` keep-alive connections and resolves with the
 * answers' bodies when all are answered (for setting up state before a measurement).
 */
export async function sendAll({ host, port, requests, connections = 32, pipeline = 4, timeoutMs = 120_000 }) {
  const bodies = new Array(requests.length);
  let done = 0;
  let failed = 0;
  return new Promise((resolve, reject) => {
    const conns = [];
    const timer = setTimeout(() => {
      for (const c of conns) c.close();
      reject(new Error(`only ${done} of ${requests.length} requests answered within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      for (const c of conns) c.close();
      if (failed) reject(new Error(`${failed} of ${requests.length} requests failed`));
      else resolve(bodies);
    };
    for (let c = 0; c < connections; c++) {
      conns.push(
        new BeatConnection({
          host,
          port,
          pipeline,
          onResponse: (status, body, ctx) => {
            bodies[ctx] = status === 200 ? body : `HTTP ${status} ${body}`;
            if (++done === requests.length) finish();
          },
          onFailure: () => {
            failed++;
            if (++done === requests.length) finish();
          },
        }),
      );
    }
    if (requests.length === 0) finish();
    requests.forEach((request, i) => conns[i % connections].send(request, i));
  });
}
