import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { FastifyServerFactory } from 'fastify';
import type { BeatFastPath } from './heartbeat.route.js';

/** The options Fastify hands its `serverFactory`: its own, with its defaults filled in. */
interface FactoryOptions {
  https?: HttpsServerOptions | true | null;
  http?: ServerOptions;
  keepAliveTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket: number;
}

/**
 * The backend's node:http(s) server, made through Fastify's `serverFactory` option so that the
 * beat route is served before Fastify (heartbeat.route.ts, `HeartbeatRoute.serve`) and every other
 * request goes to Fastify's handler unchanged. The fast path is attached once the Nest
 * application is built (`attach`); until then (no request can arrive before `listen`) everything
 * goes to Fastify. The server is set up as Fastify's own would be (lib/server.js,
 * `getServerInstance`): HTTPS with the `https` options, and its keep-alive and connection timeouts
 * and requests per socket.
 *
 * Unlike Fastify's defaults, a client has `headersTimeoutMs` to send a request's head (from when
 * the connection opens, or its next request begins) and `requestTimeoutMs` for the whole request,
 * body included: a slow or stalled body is answered 408 naming the settings and
 * closed; one whose request was already answered (a 401'd beat leaves its body unread) is just
 * closed. Neither applies to a connection once it is upgraded (socket.io, the beat socket), nor
 * to a kept-alive connection between requests (keepAliveTimeout closes that). Node checks them
 * every `connectionsCheckingInterval`, 30 s by default: a quarter of the shorter timeout here.
 *
 * One difference from Fastify's own server: Fastify does not add its second listener for
 * `localhost` (127.0.0.1 and ::1) when a server factory is used, so `VIGIL_HOST=localhost`
 * listens on the first address `localhost` resolves to.
 */
export class BeatServer {
  private fastPath: BeatFastPath | undefined;

  private readonly timeoutAnswer: string;

  constructor(private readonly timeouts: { headersTimeoutMs: number; requestTimeoutMs: number }) {
    const body = JSON.stringify({
      error: 'request timeout',
      message: `the request was not received in time: its head within VIGIL_HEADERS_TIMEOUT_MS (${timeouts.headersTimeoutMs} ms), all of it within VIGIL_REQUEST_TIMEOUT_MS (${timeouts.requestTimeoutMs} ms)`,
    });
    this.timeoutAnswer = `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  }

  attach(fastPath: BeatFastPath): void {
    this.fastPath = fastPath;
  }

  readonly serverFactory: FastifyServerFactory<Server> = (handler, opts) => {
    const options = opts as unknown as FactoryOptions;
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      if (this.fastPath?.serve(request, response) !== true) handler(request, response);
    };
    const { headersTimeoutMs, requestTimeoutMs } = this.timeouts;
    const limits = {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.round(Math.min(headersTimeoutMs, requestTimeoutMs) / 4)),
    };
    const tls = options.https === true ? {} : options.https;
    const server = tls ? createHttpsServer({ ...tls, ...limits }, listener) : createServer({ ...options.http, ...limits }, listener);
    server.keepAliveTimeout = options.keepAliveTimeout;
    // Before Fastify's own `clientError` listener, which then finds the socket destroyed.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (error.code !== 'ERR_HTTP_REQUEST_TIMEOUT' || socket.destroyed) return;
      if (socket.writable && !answered(socket)) socket.write(this.timeoutAnswer);
      socket.destroy();
    });
    server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}

/**
 * Whether the request a timed-out connection was receiving already has its answer: a response
 * being written, or one sent before the body was read (a refused beat), whose body node is now
 * discarding (`_dumped`). Node's private fields: what its own clientError fallback reads too.
 */
function answered(socket: Duplex): boolean {
  const { _httpMessage: response, parser } = socket as {
    _httpMessage?: ServerResponse | null;
    parser?: { incoming?: { _dumped?: boolean } | null } | null;
  };
  return response?.headersSent === true || parser?.incoming?._dumped === true;
}
