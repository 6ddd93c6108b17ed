import { HEARTBEAT_PATH, HEARTBEAT_SOCKET_PATH } from '@vigil/protocol/constants';
import type { WebSocket } from 'undici';
import { describeError, logger } from '../logger';
import { MAX_ANSWER_BYTES, undici, type BackendAnswer, type BackendLink } from './backend-link';

/** The link as the heartbeat sender uses it. */
export type BeatLink = Pick<BackendLink, 'send' | 'url' | 'urlOf' | 'pending'>;

export interface BeatSocketOptions {
  /** Wait before the first new attempt after the socket could not be opened or was closed. */
  retryMinMs: number;
  /** Longest wait between attempts, e.g. against a backend or proxy that refuses WebSockets. */
  retryMaxMs: number;
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
 * It is undici's WebSocket on the agent's detached connections, with the link's token and CA:
 * plugins that intercept `http` never see it, and it never keeps the host process alive.
 */
export class BeatSocketLink implements BeatLink {
  /** The agent token's header, sent with the upgrade (the backend checks it once per socket). */
  private readonly headers: Record<string, string>;
  private socket: WebSocket | undefined;
  private socketUrl = '';
  private open = false;
  private readonly waiting: Pending[] = [];
  private failures = 0;
  private nextAttemptAt = 0;

  constructor(
    private readonly http: BackendLink,
    private readonly options: BeatSocketOptions,
  ) {
    this.headers = http.socketHeaders();
  }

  get url(): string {
    return this.http.url;
  }

  urlOf(path: string): string {
    return this.http.urlOf(path);
  }

  /** The goodbye sent synchronously at exit goes over HTTP: there is no event loop left for the socket. */
  pending(method: 'PUT' | 'POST', path: string, body: string): ReturnType<BackendLink['pending']> {
    return this.http.pending(method, path, body);
  }

  /** True while beats travel over the socket. */
  get connected(): boolean {
    return this.open;
  }

  async send(method: 'PUT' | 'POST', path: string, payload: unknown, timeoutMs: number): Promise<BackendAnswer> {
    if (method === 'PUT' && path === HEARTBEAT_PATH) {
      const socket = this.ready();
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

  /** The open socket to the current backend, or undefined (then opening one in the background). */
  private ready(): WebSocket | undefined {
    const url = toSocketUrl(this.http.urlOf(HEARTBEAT_SOCKET_PATH));
    if (this.socket !== undefined && url !== this.socketUrl) this.drop();
    if (this.socket === undefined && Date.now() >= this.nextAttemptAt) this.connect(url);
    return this.open ? this.socket : undefined;
  }

  private connect(url: string): void {
    let socket: WebSocket;
    try {
      socket = new (undici.WebSocket())(url, { dispatcher: this.http.socketAgent(), headers: this.headers });
    } catch (error) {
      this.failed(url, error);
      return;
    }
    this.socket = socket;
    this.socketUrl = url;
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      this.open = true;
      this.failures = 0;
      logger.debug(`beats travel over the socket ${url}`);
    });
    socket.addEventListener('message', (event) => this.answer(event.data));
    socket.addEventListener('error', () => undefined);
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      const opened = this.open;
      this.socket = undefined;
      this.open = false;
      this.rejectPending(new Error(`beat socket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`));
      if (opened) {
        // It worked: come back soon (a backend restart, a deploy behind a proxy).
        this.failures = 0;
        this.nextAttemptAt = Date.now() + this.options.retryMinMs;
      } else {
        this.failed(url, new Error(`could not open (${event.code})`));
      }
    });
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

  private request(socket: WebSocket, payload: unknown, timeoutMs: number): Promise<BackendAnswer> {
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
