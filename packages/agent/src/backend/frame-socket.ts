/**
 * The beat socket's WebSocket client: a minimal RFC 6455 client for this one purpose, instead of
 * the ws package's.
 *
 * Why not ws: the agent runs in the host's isolate, and V8's type feedback is per function, not
 * per caller. ws's client reads through its `Receiver`, a node:stream Writable (every socket read
 * goes `Writable.prototype.write` -> `writeOrBuffer` -> `onwrite` -> `clearBuffer` with a Receiver),
 * and sends a frame as two corked writes (the header, then the payload: `clearBuffer` again). Those
 * are the functions a node:http service's responses run through, with net.Socket objects, on every
 * request: ws's few calls made them see other object shapes, V8's optimised code for them got more
 * generic, and every request of the host paid for it (bench:agent measured it: instructions per
 * request in V8's megamorphic inline caches, `bench/src/megamorphic.mjs`; docs/benchmarks.md).
 * This client adds no Writable of its own: it reads frames in a 'data' listener of the TCP (or
 * TLS) socket, and writes each frame as one pre-built, masked buffer with `socket.write`, on a
 * net.Socket like the host's own. Its opening handshake is written and read here too (one HTTP/1.1
 * upgrade request, its 101 answer parsed by hand), so not even that goes through node:http.
 *
 * What it does: text messages out (one masked frame each); text messages in, fragmented or not,
 * up to `maxPayload` bytes (longer: closed with 1009, as ws does); binary messages in are handed
 * on as such (the caller refuses them); ping -> pong; the closing handshake both ways. No
 * extensions (permessage-deflate is not offered), no subprotocols, no redirects. A protocol
 * error closes the connection (1002). The socket it runs on is the caller's (already detached,
 * so it never keeps the host alive); every timer is unref'd.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { maskedFrame } from './write-now';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Longest 101 answer read (status line and headers). */
const MAX_HANDSHAKE_BYTES = 16 * 1024;
/** How long the closing handshake may take before the connection is destroyed. */
const CLOSE_TIMEOUT_MS = 1_000;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export interface FrameSocketOptions {
  /** `ws://host[:port]/path` or `wss://...`, for the request line and the Host header. */
  url: string;
  /** Extra headers of the upgrade request (the agent token). */
  headers: Record<string, string>;
  /** Largest message taken (the whole message, over all its fragments). */
  maxPayload: number;
  /** How long the opening handshake may take. */
  handshakeTimeoutMs: number;
}

export interface FrameSocketEvents {
  /** The opening handshake succeeded. */
  onOpen(): void;
  /** A whole message: its text, or undefined for a binary one. */
  onMessage(text: string | undefined): void;
  /** Once, when the connection is gone, whether it ever opened or not (1006: no close frame came). */
  onClose(code: number, reason: string): void;
}

/**
 * One WebSocket client connection on `socket` (connecting or connected; `connectEvent` is when the
 * handshake may be written: 'connect' for TCP, 'secureConnect' for TLS).
 */
export class FrameSocket {
  private readonly key = randomBytes(16).toString('base64');
  private state: 'handshake' | 'open' | 'closing' | 'closed' = 'handshake';
  private pending: Buffer | undefined;
  /** The fragments of a message being received, and its opcode. */
  private fragments: Buffer[] = [];
  private fragmentsLength = 0;
  private fragmentOpcode = 0;
  private timer: NodeJS.Timeout | undefined;
  private closeCode = 1006;
  private closeReason = '';
  /** Set by a protocol error: nothing more is read. */
  private broken = false;

  constructor(
    readonly socket: Socket,
    connectEvent: 'connect' | 'secureConnect',
    private readonly options: FrameSocketOptions,
    private readonly events: FrameSocketEvents,
  ) {
    this.timer = setTimeout(() => this.fail(), options.handshakeTimeoutMs).unref();
    socket.once(connectEvent, () => this.handshake());
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => this.closed());
  }

  /** True once open, until closing. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Whether nothing the client wrote is still queued (in node or in libuv). */
  get idle(): boolean {
    return this.socket.writableLength === 0;
  }

  /** Sends one text message; throws when not open. */
  send(text: string): void {
    if (this.state !== 'open') throw new Error('the beat socket is not open');
    this.socket.write(maskedFrame(OP_TEXT, Buffer.from(text, 'utf8')));
  }

  /** Starts the closing handshake (1000), or ends the connection at once when not open. */
  close(): void {
    if (this.state === 'open') this.closeWith(1000, '');
    else if (this.state === 'handshake') this.fail();
  }

  private handshake(): void {
    const url = new URL(this.options.url);
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${this.key}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(this.options.headers).map(([name, value]) => `${name}: ${value}`),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  private read(chunk: Buffer): void {
    if (this.state === 'closed' || this.broken) return;
    let data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    if (this.state === 'handshake') {
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) {
        if (data.length > MAX_HANDSHAKE_BYTES) this.fail();
        else this.pending = data;
        return;
      }
      if (!this.accepted(data.toString('latin1', 0, end))) {
        this.fail();
        return;
      }
      clearTimeout(this.timer);
      this.timer = undefined;
      this.state = 'open';
      this.events.onOpen();
      data = data.subarray(end + 4);
    }
    let at = 0;
    while (!this.broken && (this.state === 'open' || this.state === 'closing')) {
      const used = this.frame(data, at);
      if (used === 0) break;
      at += used;
    }
    // (state may have changed in a handler.)
    if (at < data.length && (this.state as string) !== 'closed' && !this.broken) this.pending = data.subarray(at);
  }

  /** Whether the answer's head is a 101 for this key, with nothing the client did not ask for. */
  private accepted(head: string): boolean {
    const [status = '', ...lines] = head.split('\r\n');
    if (!/^HTTP\/1\.1 101(?: |$)/.test(status)) return false;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const accept = createHash('sha1')
      .update(this.key + GUID)
      .digest('base64');
    return (
      headers.get('upgrade')?.toLowerCase() === 'websocket' &&
      /\bupgrade\b/i.test(headers.get('connection') ?? '') &&
      headers.get('sec-websocket-accept') === accept &&
      !headers.has('sec-websocket-extensions') &&
      !headers.has('sec-websocket-protocol')
    );
  }

  /** Handles the frame at `at` of `data`; returns the bytes it took, 0 when it is not all there yet. */
  private frame(data: Buffer, at: number): number {
    if (data.length - at < 2) return 0;
    const first = data[at] as number;
    const second = data[at + 1] as number;
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    let length = second & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      if (data.length - at < 4) return 0;
      length = data.readUInt16BE(at + 2);
      headerLength = 4;
    } else if (length === 127) {
      if (data.length - at < 10) return 0;
      const high = data.readUInt32BE(at + 2);
      // Anything past 2^32 is past maxPayload anyway.
      length = high === 0 ? data.readUInt32BE(at + 6) : Number.MAX_SAFE_INTEGER;
      headerLength = 10;
    }
    // No extensions were agreed (RSV bits), and a server never masks (section 5.1).
    if ((first & 0x70) !== 0 || (second & 0x80) !== 0) return this.protocolError(1002);
    const control = opcode >= 0x8;
    if (control && (!fin || length > 125)) return this.protocolError(1002);
    if (!control && opcode !== OP_CONTINUATION && opcode !== OP_TEXT && opcode !== OP_BINARY) return this.protocolError(1002);
    if (!control && this.fragmentsLength + length > this.options.maxPayload) return this.protocolError(1009);
    if (data.length - at < headerLength + length) return 0;
    const payload = data.subarray(at + headerLength, at + headerLength + length);
    const used = headerLength + length;
    if (control) {
      this.control(opcode, payload);
      return used;
    }
    if (opcode === OP_CONTINUATION) {
      if (this.fragmentOpcode === 0) return this.protocolError(1002);
    } else {
      if (this.fragmentOpcode !== 0) return this.protocolError(1002);
      this.fragmentOpcode = opcode;
    }
    // A copy: `data` may be kept as the next read's prefix.
    this.fragments.push(Buffer.from(payload));
    this.fragmentsLength += length;
    if (fin) {
      const message = this.fragments.length === 1 ? (this.fragments[0] as Buffer) : Buffer.concat(this.fragments);
      const text = this.fragmentOpcode === OP_TEXT ? message.toString('utf8') : undefined;
      this.fragments = [];
      this.fragmentsLength = 0;
      this.fragmentOpcode = 0;
      if (this.state === 'open') this.events.onMessage(text);
    }
    return used;
  }

  private control(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) {
      if (this.state === 'open') this.socket.write(maskedFrame(OP_PONG, payload));
    } else if (opcode === OP_CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.length > 2 ? payload.toString('utf8', 2) : '';
      if (this.state === 'open') {
        // Their close first: answer it with the same code, then the server closes the connection.
        this.closeWith(code === 1005 ? 1000 : code, reason, code);
      } else {
        // The answer to our close: done.
        this.closeCode = code;
        this.closeReason = reason;
        this.socket.end();
      }
    } else if (opcode !== OP_PONG) {
      this.protocolError(1002);
    }
  }

  /** Sends a close frame with `code` and ends the connection; `received` is the peer's code, when it closed first. */
  private closeWith(code: number, reason: string, received?: number): void {
    this.state = 'closing';
    if (received !== undefined) {
      this.closeCode = received;
      this.closeReason = reason;
    }
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2, 'utf8');
    try {
      this.socket.write(maskedFrame(OP_CLOSE, payload));
      this.socket.end();
    } catch {
      // Gone already.
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  /** Closes with `code` (reported as the close's code) and reads nothing more. */
  private protocolError(code: number): number {
    this.broken = true;
    this.pending = undefined;
    this.closeCode = code;
    if (this.state === 'open') this.closeWith(code, '');
    else this.fail();
    return 0;
  }

  /** Ends the connection at once (a failed handshake, a timeout). */
  private fail(): void {
    this.socket.destroy();
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.fragments = [];
    this.events.onClose(this.closeCode, this.closeReason);
  }
}
