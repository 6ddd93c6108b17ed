import * as http from 'node:http';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describeError } from '../logger';
import { asAgent } from '../plugins/interceptor';
import { writeNow } from './write-now';

/** node:http's ClientRequest as it was when the agent loaded (before plugins or instrumentation could patch it). */
const ClientRequest = http.ClientRequest;

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
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
  /** Its one kept-alive connection, made with the first request to this backend. */
  agent: HttpAgent | undefined;
}

/**
 * The agent's connection to its backends (`backend.url`, several allowed). Requests go to the
 * current backend; when it cannot be reached or answers 5xx, the next ones are tried in order,
 * and the first that answers becomes current. Each backend gets one kept-alive connection of
 * the agent's own node:http Agent, and one connection, so a goodbye cannot overtake the beat
 * before it. Requests are made with node:http's `ClientRequest` as it was when the agent loaded
 * and inside `asAgent`, so neither a Vigil plugin's interceptors nor instrumentation that
 * patches `http.request` see the agent's own traffic.
 * Beats and event batches use a link each, so neither waits behind the other.
 */
export class BackendLink {
  private readonly backends: Backend[];
  private current = 0;
  private readonly headers: Record<string, string>;
  private readonly ca: string | undefined;
  private readonly keepAliveMs: number;

  constructor(urls: readonly string[], { keepAliveMs, token, ca }: LinkOptions) {
    this.headers = {
      'content-type': 'application/json',
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
    };
    this.ca = ca;
    this.keepAliveMs = keepAliveMs;
    this.backends = urls.map((url) => {
      const parsed = new URL(url);
      const secure = parsed.protocol === 'https:';
      return {
        url,
        basePath: parsed.pathname.replace(/\/+$/, ''),
        // [::1] -> ::1, as the socket wants it.
        hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port),
        secure,
        agent: undefined,
      };
    });
  }

  /** The token's header, for a WebSocket to the same backends (the beat socket). */
  socketHeaders(): Record<string, string> {
    const { authorization } = this.headers;
    return authorization === undefined ? {} : { authorization };
  }

  /** `backend.tls.ca`'s PEM text, for a WebSocket to the same backends (the beat socket). */
  socketCa(): string | undefined {
    return this.ca;
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
    return {
      method,
      url: this.urlOf(path),
      body,
      headers: this.headers,
      ...(this.ca !== undefined && { ca: this.ca }),
    };
  }

  /**
   * Writes the request at once, synchronously, on the current backend's idle kept-alive
   * connection, or behind a request in flight that is all sent (see `writeNow`), for the goodbye
   * said in an 'exit' listener. No answer is read: the process is ending. Returns false when
   * there is no such connection (none yet, closed, still sending, or TLS): then the request must
   * go another way (`pending`).
   */
  writeNow(method: BackendRequest['method'], path: string, body: string): boolean {
    const backend = this.backends[this.current] as Backend;
    const idle = Object.values(backend.agent?.freeSockets ?? {})[0]?.[0] ?? sentInFlight(backend.agent);
    if (idle === undefined) return false;
    const defaultPort = backend.secure ? 443 : 80;
    const host =
      (backend.hostname.includes(':') ? `[${backend.hostname}]` : backend.hostname) +
      (backend.port === defaultPort ? '' : `:${backend.port}`);
    const headers = { host, ...this.headers, 'content-length': String(Buffer.byteLength(body)) };
    const head = `${method} ${backend.basePath}${path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`;
    return writeNow(idle, Buffer.from(head + body, 'utf8'));
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
        const answer = await request(backend, this.agentOf(backend), backend.basePath + path, method, body, this.headers, timeoutMs);
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

  /** Closes every connection at once: what is in flight fails. */
  close(): Promise<void> {
    for (const backend of this.backends) backend.agent?.destroy();
    return Promise.resolve();
  }

  /** The backend's one-connection keep-alive Agent, made with its first request. */
  private agentOf(backend: Backend): HttpAgent {
    if (backend.agent === undefined) {
      const options = {
        keepAlive: true,
        maxSockets: 1,
        // An idle connection is closed after this long (a socket timeout on a free socket).
        timeout: this.keepAliveMs,
        // TLS certificates are verified (rejectUnauthorized); `ca` only replaces the trusted roots.
        ...(this.ca !== undefined && { ca: this.ca }),
      };
      // node:https (and with it tls) loads only for an https backend.
      const agent = backend.secure ? new (require('node:https') as typeof import('node:https')).Agent(options) : new HttpAgent(options);
      const createConnection = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
      // Every socket of the agent is detached: see `detach`.
      agent.createConnection = ((...args: unknown[]) => detach(createConnection(...args))) as typeof agent.createConnection;
      backend.agent = agent;
    }
    return backend.agent;
  }
}

/**
 * The connection of a request in flight whose bytes are all sent (a beat waiting for its answer,
 * when the process ends): a request written behind it is a pipelined one, which the backend
 * answers in turn. One still being sent is not: bytes written now would come before its rest.
 */
function sentInFlight(agent: HttpAgent | undefined): Socket | undefined {
  const socket = Object.values(agent?.sockets ?? {})[0]?.[0];
  const current = (socket as { _httpMessage?: { writableFinished?: boolean } } | undefined)?._httpMessage;
  return current?.writableFinished === true ? socket : undefined;
}

function request(
  backend: Backend,
  agent: HttpAgent,
  path: string,
  method: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<BackendAnswer> {
  return new Promise<BackendAnswer>((resolve, reject) => {
    const options = {
      agent,
      protocol: backend.secure ? 'https:' : 'http:',
      host: backend.hostname,
      port: backend.port,
      path,
      method,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // AbortSignal.timeout's timer is unref'd, so a pending deadline does not hold the host either.
      signal: AbortSignal.timeout(timeoutMs),
    };
    asAgent(() => {
      const outgoing = new ClientRequest(options, (response) => readAnswer(response).then(resolve, reject));
      outgoing.on('error', (error: Error) => reject(error.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms`) : error));
      outgoing.end(body);
    });
  });
}

/** The answer's status and JSON body, read up to MAX_ANSWER_BYTES. */
function readAnswer(response: IncomingMessage): Promise<BackendAnswer> {
  return new Promise<BackendAnswer>((resolve, reject) => {
    const refuse = (message: string) => {
      response.destroy();
      reject(new Error(message));
    };
    const declared = Number(response.headers['content-length'] ?? 0);
    if (declared > MAX_ANSWER_BYTES) {
      refuse(`backend answer of ${declared} bytes refused (at most ${MAX_ANSWER_BYTES})`);
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    response.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_ANSWER_BYTES) refuse(`backend answer longer than ${MAX_ANSWER_BYTES} bytes refused`);
      else chunks.push(chunk);
    });
    response.on('error', reject);
    response.on('end', () => {
      resolve({ status: response.statusCode ?? 0, body: parseJson(Buffer.concat(chunks).toString('utf8')) });
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/**
 * The agent's sockets never keep the host process alive: not while idle and not while a request
 * is in flight, when node:http would ref them, so `ref` is disabled on them. An app that ends
 * while the backend is slow exits at once. Detached right away, which covers the connect phase
 * too (a backend host that drops packets).
 */
export function detach<T extends Socket>(socket: T): T {
  socket.unref();
  socket.ref = () => socket;
  return socket;
}
