import { Socket } from 'node:net';
import type { Agent, Dispatcher, Pool, WebSocket, buildConnector } from 'undici';
import { describeError } from '../logger';

type Undici = typeof import('undici');
type RequestFn = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

const parts = new Map<string, unknown>();

/**
 * One of undici's modules, loaded when the agent first needs it rather than when it starts, and
 * by its file: undici's index loads all it has (fetch, cookies, caches, mocks, proxies: 110
 * modules, ~60 ms and ~9 MiB of the host's memory) for an agent that uses a Pool, an Agent and,
 * for the beat socket, WebSocket. undici is pinned to an exact version and the tests check
 * which files load, so a new layout shows at the upgrade; should a file be missing anyway, the
 * part comes from the index.
 */
function part<T>(file: string, fromIndex: (index: Undici) => T): T {
  if (!parts.has(file)) {
    let loaded: T;
    try {
      loaded = require(`undici/lib/${file}`) as T;
    } catch {
      loaded = fromIndex(require('undici') as Undici);
    }
    parts.set(file, loaded);
  }
  return parts.get(file) as T;
}

/** The parts of undici the agent uses. */
export const undici = {
  Pool: (): typeof Pool => part('dispatcher/pool', (index) => index.Pool),
  Agent: (): typeof Agent => part('dispatcher/agent', (index) => index.Agent),
  buildConnector: (): typeof buildConnector => part('core/connect', (index) => index.buildConnector),
  WebSocket: (): typeof WebSocket =>
    part<{ WebSocket: typeof WebSocket }>('web/websocket/websocket', (index) => ({ WebSocket: index.WebSocket })).WebSocket,
  /** `dispatcher.request()`, which undici's index adds to every dispatcher: called on the pool. */
  request: (): RequestFn =>
    part('api/api-request', (index) => index.Dispatcher.prototype.request as unknown as RequestFn),
};

/** Largest answer body read from a backend; anything longer is refused unread (bounded memory, whatever it sends). */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface BackendAnswer {
  status: number;
  /** The parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
}

/** One request to the backend, in a form that can also be sent from elsewhere (see sync-send). */
export interface BackendRequest {
  method: 'PUT' | 'POST';
  url: string;
  body: string;
  /** Extra headers (the agent token). */
  headers: Record<string, string>;
  /** PEM of the CA to verify an https backend with, instead of the system's. */
  ca?: string;
}

export interface LinkOptions {
  /** How long an idle connection is kept when the backend gives no `Keep-Alive: timeout` hint: long enough to carry the next beat. */
  keepAliveMs: number;
  /** `agent.token`, sent as `Authorization: Bearer` on every request. */
  token?: string | undefined;
  /** `backend.tls.ca`'s PEM text. Certificates are always verified; this only changes which CA is trusted. */
  ca?: string | undefined;
}

interface Backend {
  /** As configured, for log lines. */
  readonly url: string;
  /** Path prefix of a backend behind a reverse proxy, without trailing slash. */
  readonly basePath: string;
  readonly origin: string;
  /** Made with the first request to this backend. */
  pool: Pool | undefined;
}

/**
 * The agent's connection to its backends (`backend.url`, several allowed). Requests go to the
 * current backend; when it cannot be reached or answers 5xx, the next ones are tried in order,
 * and the first that answers becomes current. Each backend gets one kept-alive connection of
 * the agent's own undici pool: undici, not node:http, so plugins that intercept http never see
 * the agent's traffic; and one connection, so a goodbye cannot overtake the beat before it.
 * Beats and event batches use a link each, so neither waits behind the other.
 */
export class BackendLink {
  private readonly backends: Backend[];
  private current = 0;
  private readonly headers: Record<string, string>;
  private readonly ca: string | undefined;
  private readonly keepAliveMs: number;
  private socketDispatcher: Agent | undefined;

  constructor(urls: readonly string[], { keepAliveMs, token, ca }: LinkOptions) {
    this.headers = { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) };
    this.ca = ca;
    this.keepAliveMs = keepAliveMs;
    this.backends = urls.map((url) => {
      const parsed = new URL(url);
      return { url, basePath: parsed.pathname.replace(/\/+$/, ''), origin: parsed.origin, pool: undefined };
    });
  }

  /** The token's header, for a WebSocket to the same backends (the beat socket). */
  socketHeaders(): Record<string, string> {
    const { authorization } = this.headers;
    return authorization === undefined ? {} : { authorization };
  }

  /**
   * An undici Agent connecting as this link does (detached sockets, this link's CA), for a
   * WebSocket to the same backends; made on first use.
   */
  socketAgent(): Agent {
    return (this.socketDispatcher ??= new (undici.Agent())({ connect: detachedConnector(this.ca) }));
  }

  /** The backend requests go to now. */
  get url(): string {
    return (this.backends[this.current] as Backend).url;
  }

  /** `path` on the current backend, as a full URL. */
  urlOf(path: string): string {
    const backend = this.backends[this.current] as Backend;
    return new URL(backend.basePath + path, backend.url).href;
  }

  /** A request to the current backend, with this link's headers and CA, for a sender that works elsewhere (sync-send). */
  pending(method: BackendRequest['method'], path: string, body: string): BackendRequest {
    return { method, url: this.urlOf(path), body, headers: this.headers, ...(this.ca !== undefined && { ca: this.ca }) };
  }

  /**
   * Sends `payload` as JSON; resolves with the first answer below 500, trying the backends in
   * order from the current one. Rejects with the last failure when none answers.
   */
  async send(method: BackendRequest['method'], path: string, payload: unknown, timeoutMs: number): Promise<BackendAnswer> {
    const body = JSON.stringify(payload);
    let failure: unknown;
    for (let attempt = 0; attempt < this.backends.length; attempt += 1) {
      const index = (this.current + attempt) % this.backends.length;
      try {
        const backend = this.backends[index] as Backend;
        const answer = await request(this.poolOf(backend), backend.basePath + path, method, body, this.headers, timeoutMs);
        if (answer.status >= 500) throw new Error(`backend answered HTTP ${answer.status}`);
        this.current = index;
        return answer;
      } catch (error) {
        // With several backends, say which one failed how.
        const { url } = this.backends[index] as Backend;
        failure = this.backends.length > 1 ? new Error(`${url}: ${describeError(error)}`, { cause: error }) : error;
      }
    }
    throw failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((backend) => backend.pool?.destroy()));
  }

  /** The backend's one-connection pool, made (and undici loaded) with its first request. */
  private poolOf(backend: Backend): Pool {
    backend.pool ??= new (undici.Pool())(backend.origin, {
      connections: 1,
      connect: detachedConnector(this.ca),
      keepAliveTimeout: this.keepAliveMs,
    });
    return backend.pool;
  }
}

async function request(
  pool: Pool,
  path: string,
  method: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<BackendAnswer> {
  const response = await undici.request().call(pool, {
    path,
    method,
    headers,
    body,
    // AbortSignal.timeout's timer is unref'd, so a pending deadline does not hold the host either.
    signal: AbortSignal.timeout(timeoutMs),
  });
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > MAX_ANSWER_BYTES) {
    response.body.destroy();
    throw new Error(`backend answer of ${declared} bytes refused (at most ${MAX_ANSWER_BYTES})`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_ANSWER_BYTES) {
      response.body.destroy();
      throw new Error(`backend answer longer than ${MAX_ANSWER_BYTES} bytes refused`);
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode, body: parseJson(Buffer.concat(chunks).toString('utf8')) };
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/**
 * undici's connector, but the agent's sockets never keep the host process alive: not while idle
 * (undici unrefs those itself) and not while a request is in flight, when undici would ref them,
 * so `ref` is disabled on them. An app that ends while the backend is slow exits at once.
 */
export function detachedConnector(ca: string | undefined): buildConnector.connector {
  // TLS certificates are verified (undici's default, rejectUnauthorized); `ca` only replaces the trusted roots.
  const connect = undici.buildConnector()(ca === undefined ? {} : { ca });
  return (options, callback) => {
    // undici's connector returns the socket it is connecting (its types say void); detaching it
    // right away covers the connect phase, e.g. a backend host that drops packets.
    const socket: unknown = connect(options, callback);
    if (socket instanceof Socket) {
      socket.unref();
      socket.ref = () => socket;
    }
  };
}
