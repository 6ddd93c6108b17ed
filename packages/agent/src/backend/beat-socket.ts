import { HEARTBEAT_PATH, HEARTBEAT_SOCKET_PATH } from '../protocol';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { describeError, logger } from '../logger';
import { asAgent } from '../plugins/interceptor';
import { MAX_ANSWER_BYTES, detach, type BackendAnswer, type BackendLink } from './backend-link';
import { FrameSocket } from './frame-socket';
import { webSocketTextFrame, writeNow } from './write-now';

/** How long a socket's opening handshake may take unless the options say otherwise. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The link as the heartbeat sender uses it. */
export type BeatLink = Pick<BackendLink, 'send' | 'url' | 'urlOf' | 'pending' | 'writeNow'>;

export interface BeatSocketOptions {
  /** Wait before the first new attempt after the socket could not be opened or was closed. */
  retryMinMs: number;
  /** Longest wait between attempts, e.g. against a backend or proxy that refuses WebSockets. */
  retryMaxMs: number;
  /** How long the opening handshake may take before the attempt counts as failed (10 s). */
  handshakeTimeoutMs?: number;
  /**
   * How long a beat that finds the socket opening waits for it before going over HTTP (0: not at
   * all, the default). The agent's first beat then travels on the socket it opens, so that a
   * quiet agent makes no HTTP request at all (see the class comment).
   */
  openWaitMs?: number;
}

interface Pending {
  resolve: (answer: BackendAnswer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Beats over one long-lived WebSocket to the current backend (`HEARTBEAT_SOCKET_PATH`), HTTP
 * otherwise: while the socket is not open (first beat, reconnecting, a backend or proxy that
 * refuses the upgrade) beats go through the HTTP link, and everything else always does. A beat
 * that fails on the socket is sent again over HTTP at once, so the socket can only add a path,
 * never lose a beat. The socket follows the link's current backend when the link fails over.
 *
 * It is the agent's own minimal WebSocket client (`FrameSocket`: why not ws is said there) on a
 * detached connection, with the link's token and CA, opened inside `asAgent`; its upgrade request
 * is written on the socket by hand, so neither a Vigil interceptor nor instrumentation that
 * patches node:http sees it, and it never keeps the host process alive. Answers longer than
 * MAX_ANSWER_BYTES close the socket (1009).
 */
export class BeatSocketLink implements BeatLink {
  /** The agent token's header, sent with the upgrade (the backend checks it once per socket). */
  private readonly headers: Record<string, string>;
  private readonly ca: string | undefined;
  private socket: FrameSocket | undefined;
  private socketUrl = '';
  private open = false;
  private readonly waiting: Pending[] = [];
  private failures = 0;
  private nextAttemptAt = 0;
  /** While a socket opens: resolves when it opened (true) or failed (false). */
  private opening: Promise<boolean> | undefined;
  private settleOpening: ((open: boolean) => void) | undefined;

  constructor(
    private readonly http: BackendLink,
    private readonly options: BeatSocketOptions,
  ) {
    this.headers = http.socketHeaders();
    this.ca = http.socketCa();
  }

  get url(): string {
    return this.http.url;
  }

  urlOf(path: string): string {
    return this.http.urlOf(path);
  }

  /**
   * A beat written at once on the open socket (a goodbye said in an 'exit' listener, when no
   * event loop turn is left for the client): one masked text frame on its idle TCP connection,
   * as the client sends it. Anything else, or no fit socket (not open, busy, wss), goes to the HTTP link's.
   */
  writeNow(method: 'PUT' | 'POST', path: string, body: string): boolean {
    if (method === 'PUT' && path === HEARTBEAT_PATH && this.open && this.socket !== undefined && this.socket.idle) {
      if (writeNow(this.socket.socket, webSocketTextFrame(body))) return true;
    }
    return this.http.writeNow(method, path, body);
  }

  /** A request for a sender that works elsewhere (sync-send) goes over HTTP: the socket is this thread's. */
  pending(method: 'PUT' | 'POST', path: string, body: string): ReturnType<BackendLink['pending']> {
    return this.http.pending(method, path, body);
  }

  /** True while beats travel over the socket. */
  get connected(): boolean {
    return this.open;
  }

  async send(method: 'PUT' | 'POST', path: string, payload: unknown, timeoutMs: number): Promise<BackendAnswer> {
    if (method === 'PUT' && path === HEARTBEAT_PATH) {
      let socket = this.ready();
      const waitMs = Math.min(this.options.openWaitMs ?? 0, timeoutMs / 2);
      if (socket === undefined && this.opening !== undefined && waitMs > 0) socket = await this.openWithin(waitMs);
      if (socket !== undefined) {
        try {
          return await this.request(socket, payload, timeoutMs);
        } catch (error) {
          logger.debug(`beat socket to ${this.socketUrl} failed (${describeError(error)}); sending the beat over HTTP`);
        }
      }
    }
    return this.http.send(method, path, payload, timeoutMs);
  }

  /** The socket being opened, once open within `waitMs`; else undefined. */
  private async openWithin(waitMs: number): Promise<FrameSocket | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const open = await Promise.race([
      this.opening,
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), waitMs).unref();
      }),
    ]);
    clearTimeout(timer);
    return open === true && this.open ? this.socket : undefined;
  }

  /** The open socket to the current backend, or undefined (then opening one in the background). */
  private ready(): FrameSocket | undefined {
    const url = toSocketUrl(this.http.urlOf(HEARTBEAT_SOCKET_PATH));
    if (this.socket !== undefined && url !== this.socketUrl) this.drop();
    if (this.socket === undefined && Date.now() >= this.nextAttemptAt) this.connect(url);
    return this.open ? this.socket : undefined;
  }

  private connect(url: string): void {
    let socket: FrameSocket;
    try {
      const parsed = new URL(url);
      const secure = parsed.protocol === 'wss:';
      // [::1] -> ::1, as the socket wants it.
      const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port);
      socket = asAgent(
        () =>
          new FrameSocket(
            connectDetached(secure, host, port, this.ca),
            secure ? 'secureConnect' : 'connect',
            {
              url,
              headers: this.headers,
              maxPayload: MAX_ANSWER_BYTES,
              handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
            },
            {
              onOpen: () => {
                if (this.socket !== socket) return;
                this.open = true;
                this.failures = 0;
                this.settle(true);
                logger.debug(`beats travel over the socket ${url}`);
              },
              onMessage: (text) => {
                if (this.socket === socket) this.answer(text);
              },
              onClose: (code, reason) => this.closed(socket, url, code, reason),
            },
          ),
      );
    } catch (error) {
      this.failed(url, error);
      return;
    }
    this.socket = socket;
    this.socketUrl = url;
    this.settle(false);
    this.opening = new Promise<boolean>((resolve) => {
      this.settleOpening = resolve;
    });
  }

  /** Ends the wait for the socket being opened. */
  private settle(open: boolean): void {
    this.settleOpening?.(open);
    this.settleOpening = undefined;
    this.opening = undefined;
  }

  private closed(socket: FrameSocket, url: string, code: number, reason: string): void {
    if (this.socket !== socket) return;
    const opened = this.open;
    this.socket = undefined;
    this.open = false;
    this.settle(false);
    const why = reason.length > 0 ? ` ${reason}` : '';
    this.rejectPending(new Error(`beat socket closed (${code}${why})`));
    if (opened) {
      // It worked: come back soon (a backend restart, a deploy behind a proxy).
      this.failures = 0;
      this.nextAttemptAt = Date.now() + this.options.retryMinMs;
    } else {
      this.failed(url, new Error(`could not open (${code})`));
    }
  }

  private failed(url: string, error: unknown): void {
    this.failures += 1;
    const wait = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** (this.failures - 1));
    this.nextAttemptAt = Date.now() + wait;
    const message = `beat socket ${url} ${describeError(error)}; beats go over HTTP, next socket attempt in ${wait} ms`;
    // One line at info the first time (an old backend, a proxy without WebSockets), then debug.
    if (this.failures === 1) logger.info(message);
    else logger.debug(message);
  }

  private request(socket: FrameSocket, payload: unknown, timeoutMs: number): Promise<BackendAnswer> {
    return new Promise<BackendAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Answers come in order: once one is missing, the ones after it cannot be matched.
        this.drop(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs).unref();
      this.waiting.push({ resolve, reject, timer });
      try {
        socket.send(JSON.stringify(payload));
      } catch (error) {
        this.drop(error instanceof Error ? error : new Error(describeError(error)));
      }
    });
  }

  private answer(data: unknown): void {
    const waiting = this.waiting.shift();
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    const text = typeof data === 'string' ? data : '';
    if (text.length > MAX_ANSWER_BYTES) {
      waiting.reject(new Error(`beat socket answer longer than ${MAX_ANSWER_BYTES} bytes refused`));
      return;
    }
    const answer = parseAnswer(text);
    if (answer === undefined) waiting.reject(new Error('beat socket answered something other than { status, body }'));
    else waiting.resolve(answer);
  }

  /**
   * Closes the current socket, failing what waits on it. With a reason (it failed), the next one
   * waits for the backoff; without (the link moved to another backend), the next beat opens one.
   */
  private drop(reason?: Error): void {
    const socket = this.socket;
    const url = this.socketUrl;
    this.socket = undefined;
    this.open = false;
    this.settle(false);
    this.rejectPending(reason ?? new Error('the backend changed'));
    if (reason !== undefined) this.failed(url, reason);
    try {
      socket?.close();
    } catch {
      // Closing a socket that never opened may throw; it is gone either way.
    }
  }

  private rejectPending(reason: Error): void {
    for (const waiting of this.waiting.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(reason);
    }
  }
}

/**
 * The beat socket's connection (TLS with SNI unless the host is an IP address; certificates are
 * verified, `ca` only replaces the trusted roots), detached like the HTTP link's; node:tls loads
 * only for a wss:// backend.
 */
function connectDetached(secure: boolean, host: string, port: number, ca: string | undefined): Socket {
  if (!secure) return detach(netConnect({ host, port }));
  const tls = require('node:tls') as typeof import('node:tls');
  return detach(tls.connect({ host, port, servername: isIP(host) === 0 ? host : '', ...(ca !== undefined && { ca }) }));
}

/** `http(s)://host/base/path` -> `ws(s)://host/base/path`. */
function toSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

function parseAnswer(text: string): BackendAnswer | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { status, body } = parsed as { status?: unknown; body?: unknown };
    return typeof status === 'number' ? { status, body } : undefined;
  } catch {
    return undefined;
  }
}
