import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { errorCodes, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { HEARTBEAT_PATH, LIMITS } from '@vigil/protocol';
import { AccessControl } from '../access/access-control.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { MetricsService } from '../ops/metrics.service.js';
import { BeatHandler } from './beat-handler.js';

/** The request handler that runs before Fastify's (see beat-server.ts): true when it answered the request. */
export interface BeatFastPath {
  serve(request: IncomingMessage, response: ServerResponse): boolean;
}

const TOO_LARGE = { error: 'heartbeat too large', issues: [`(body): at most ${LIMITS.beatBodyBytes} bytes (LIMITS.beatBodyBytes)`] };
const EMPTY_BODY = new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY().message;
const NOT_JSON = new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY().message;
const WRONG_LENGTH = new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH().message;
const QUESTION_MARK = 63;

/**
 * `PUT /api/v1/heartbeat`: the hot path for every agent that cannot keep the beat socket open
 * (and for plain HTTP clients). It is served twice over, with the same answers:
 *
 * - **Before Fastify** (`serve`, called by the node:http(s) server that beat-server.ts creates
 *   through Fastify's `serverFactory`): exactly `PUT /api/v1/heartbeat` (with or without a query
 *   string) with `content-type: application/json` (or `application/json; charset=utf-8`), which is
 *   what agents send. No Fastify request or reply objects, no hooks, no promises: the access
 *   rules of the agent audience (the same `AccessControl.check` the access hook calls), the body
 *   read up to `LIMITS.beatBodyBytes`, JSON parsed as Fastify's parser does it (a BOM dropped,
 *   `__proto__` and `constructor.prototype` refused: `getDefaultJsonParser` itself whenever the
 *   body could hold such a key), `BeatHandler.handle` and one synchronous `res.end`. Each refusal
 *   has the status, body and headers (`www-authenticate`, `connection: close`) Fastify gave it,
 *   and is counted in `vigil_beats_rejected_total` where Fastify's error handler counted it.
 * - **As a route on Nest's Fastify instance** (outside Nest's per-request pipeline: guards,
 *   interceptors and pipes cost about a fifth of the throughput, see ../shared/TOOLCHAIN.md), for
 *   every other spelling Fastify routes here: another content type (Fastify's parsers and its 415),
 *   a percent-encoded path, an absolute-form target, requests during shutdown (Fastify's 503), and
 *   `app.inject()`. The access hook has already checked the agent token (`request.agentScope`).
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit, BeatFastPath {
  private readonly parseJson: (body: Buffer) => unknown;
  /** Set when Fastify starts closing: from then on it answers every request (503). */
  private closing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly beats: BeatHandler,
    private readonly metrics: MetricsService,
    private readonly access: AccessControl,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // The parser Nest registers for application/json runs exactly this one (onProtoPoisoning and
    // onConstructorPoisoning at their default, 'error'); it calls back synchronously.
    const parser = fastify.getDefaultJsonParser('error', 'error') as unknown as (
      request: unknown,
      body: Buffer,
      done: (error: Error | null, value?: unknown) => void,
    ) => void;
    const fastifyParse = (body: Buffer | string): unknown => {
      let result: unknown;
      let failure: Error | null = null;
      parser(undefined, body as Buffer, (error, value) => {
        failure = error;
        result = value;
      });
      if (failure !== null) throw failure;
      return result;
    };
    // What that parser does (secure-json-parse: drop a BOM, JSON.parse, then refuse `__proto__`
    // and `constructor` keys), without its two regular-expression scans of every body when no key
    // can be one: both expressions need `__proto__` or `constructor` spelled out, or a `\u` escape.
    this.parseJson = (body) => {
      let text = body.toString();
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== 'object') return value;
      if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) return fastifyParse(text);
      return value;
    };
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      this.metrics.beatRejected();
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(TOO_LARGE);
      // Malformed JSON, a wrong content type: Fastify's own 4xx, with its message.
      return reply
        .code(error.statusCode && error.statusCode < 500 ? error.statusCode : 500)
        .send({ error: 'invalid heartbeat', issues: [`(body): ${error.message}`] });
    };
    fastify.put(HEARTBEAT_PATH, { bodyLimit: LIMITS.beatBodyBytes, errorHandler }, async (request, reply) => {
      const { status, body } = this.beats.handle(request.body, request.agentScope, request.socket.remoteAddress);
      return status === 200 ? body : reply.code(status).send(body);
    });
    fastify.addHook('preClose', (done) => {
      this.closing = true;
      done();
    });
  }

  serve(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'PUT' || this.closing || !isBeatUrl(request.url)) return false;
    const type = request.headers['content-type'];
    if (type !== 'application/json' && type !== 'application/json; charset=utf-8') return false;
    try {
      this.admit(request, response);
    } catch (error) {
      this.fail(response, error);
    }
    return true;
  }

  /** The access hook's verdict, then the body. */
  private admit(request: IncomingMessage, response: ServerResponse): void {
    const verdict = this.access.check(
      'agent',
      { method: 'PUT', address: request.socket.remoteAddress, headers: request.headers },
      this.clock.now(),
    );
    if (!verdict.allow) {
      reply(response, verdict.status, verdict.body, verdict.status === 401 ? 'www-authenticate' : undefined, 'Bearer realm="vigil"');
      return;
    }
    const scope = verdict.scope;
    const length = request.headers['content-length'];
    const expected = length === undefined ? Number.NaN : Number(length);
    if (expected > LIMITS.beatBodyBytes) {
      this.refuseBody(response, 413, TOO_LARGE);
      return;
    }
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let received = 0;
    // Answered (or refused): whatever the request still emits is ignored. A flag rather than
    // removing the listeners: the request object goes with its connection's next request anyway.
    let finished = false;
    const onData = (chunk: Buffer): void => {
      if (finished) return;
      received += chunk.length;
      if (received > LIMITS.beatBodyBytes) {
        finished = true;
        this.refuseBody(response, 413, TOO_LARGE);
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    };
    const onEnd = (): void => {
      if (finished) return;
      finished = true;
      try {
        if (!Number.isNaN(expected) && received !== expected) {
          this.refuseBody(response, 400, invalid(WRONG_LENGTH));
          return;
        }
        const body = chunks === undefined ? first : Buffer.concat(chunks, received);
        if (body === undefined) {
          this.refuseBody(response, 400, invalid(EMPTY_BODY));
          return;
        }
        let json: unknown;
        try {
          json = this.parseJson(body);
        } catch {
          this.refuseBody(response, 400, invalid(NOT_JSON));
          return;
        }
        const answer = this.beats.handle(json, scope, request.socket.remoteAddress);
        reply(response, answer.status, answer.body);
      } catch (error) {
        this.fail(response, error);
      }
    };
    // The client went away mid-body: nobody reads the answer, but it is counted as Fastify did.
    const onError = (error: Error): void => {
      if (finished) return;
      finished = true;
      this.refuseBody(response, 400, invalid(error.message));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  }

  /** A body Fastify's parser refused: counted, and the connection closed after the answer, as Fastify does. */
  private refuseBody(response: ServerResponse, status: number, body: object): void {
    this.metrics.beatRejected();
    reply(response, status, body, 'connection', 'close');
  }

  /** A bug (a throw) answers 500 as Fastify's error handler would, and the server keeps serving. */
  private fail(response: ServerResponse, error: unknown): void {
    this.metrics.beatRejected();
    if (response.headersSent) {
      response.destroy();
      return;
    }
    reply(response, 500, invalid(error instanceof Error ? error.message : String(error)));
  }
}

function isBeatUrl(url: string | undefined): boolean {
  return (
    url === HEARTBEAT_PATH ||
    (url !== undefined && url.charCodeAt(HEARTBEAT_PATH.length) === QUESTION_MARK && url.startsWith(HEARTBEAT_PATH))
  );
}

function invalid(message: string): { error: string; issues: string[] } {
  return { error: 'invalid heartbeat', issues: [`(body): ${message}`] };
}

/** The answer as Fastify's `reply.send(object)` writes it: JSON with its charset and length. */
function reply(response: ServerResponse, status: number, body: object, header?: string, value?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  };
  if (header !== undefined && value !== undefined) headers[header] = value;
  response.writeHead(status, headers);
  response.end(text);
}
