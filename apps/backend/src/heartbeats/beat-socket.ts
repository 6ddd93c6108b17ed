import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Gauge } from 'prom-client';
import { HEARTBEAT_SOCKET_PATH, LIMITS, type BeatReply, type BeatSocketAnswer } from '@vigil/protocol';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AccessControl } from '../access/access-control.js';
import type { AgentScope } from '../access/credentials.js';
import { MetricsService } from '../ops/metrics.service.js';
import { BeatHandler } from './beat-handler.js';

/** How often each beat socket is pinged; one that has not answered the previous ping is dropped. */
export const BEAT_SOCKET_PING_MS = 30_000;

/** Replies a client has left unread, in bytes, past which it is dropped (it is not reading). */
export const MAX_UNREAD_REPLY_BYTES = 1024 * 1024;

/** WebSocket close code for a server going away (RFC 6455): agents fall back to HTTP and come back. */
const GOING_AWAY = 1001;

/**
 * The beat socket (`HEARTBEAT_SOCKET_PATH`): one long-lived WebSocket per agent, each text
 * message a beat answered in order with `{ status, body }`, the answer the HTTP route would give.
 * A beat then costs one small frame each way instead of an HTTP request, which is what lets one
 * backend carry a large fleet (docs/benchmarks.md). Sockets that stop answering pings are dropped,
 * and so are clients that send faster than they read.
 */
@Injectable()
export class BeatSocketServer implements OnModuleInit, OnModuleDestroy {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.beatBodyBytes, perMessageDeflate: false });
  private readonly alive = new WeakSet<WebSocket>();
  /** The agent token each socket was opened with, checked once at the upgrade. */
  private readonly scopes = new WeakMap<WebSocket, AgentScope>();
  private pinger: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  /** How often sockets are pinged (`BEAT_SOCKET_PING_MS`); read when the module starts, so a test may shorten it before. */
  pingMs = BEAT_SOCKET_PING_MS;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly beats: BeatHandler,
    private readonly access: AccessControl,
    metrics: MetricsService,
  ) {
    const clients = this.wss.clients;
    new Gauge({
      name: 'vigil_beat_sockets',
      help: 'Open beat sockets (agents beating over a WebSocket rather than HTTP requests)',
      registers: [metrics.registry],
      collect() {
        this.set(clients.size);
      },
    });
  }

  onModuleInit(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
    this.wss.on('connection', (socket: WebSocket, scope: AgentScope | undefined, raw: Duplex) => this.serve(socket, scope, raw));
    this.pinger = setInterval(() => this.ping(), this.pingMs).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pinger);
    this.server?.off('upgrade', this.onUpgrade);
    for (const socket of this.wss.clients) socket.close(GOING_AWAY, 'backend shutting down');
    this.wss.close();
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Other paths (socket.io's) are someone else's to answer.
    if (pathOf(request.url) !== HEARTBEAT_SOCKET_PATH) return;
    // The agent's rules (protected mode, tokens), as the access hook applies them to the PUT.
    const verdict = this.access.checkAgentSocket({
      method: request.method ?? 'GET',
      address: request.socket.remoteAddress,
      headers: request.headers,
    });
    if (!verdict.allow) {
      refuseUpgrade(socket, verdict.status, verdict.body);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, verdict.scope, socket));
  };

  private serve(socket: WebSocket, scope: AgentScope | undefined, raw: Duplex): void {
    this.alive.add(socket);
    if (scope !== undefined) this.scopes.set(socket, scope);
    socket.on('pong', () => this.alive.add(socket));
    socket.on('error', () => socket.terminate());
    // The answers to all beats that came in one read go out in one write: the connection is
    // corked at the first and uncorked once that read has been handled (process.nextTick).
    let corked = false;
    const uncork = () => {
      corked = false;
      raw.uncork();
    };
    const address = (raw as Socket).remoteAddress;
    socket.on('message', (data, isBinary) => {
      const answer = isBinary ? refuse('beats are JSON text messages') : this.answer(data, this.scopes.get(socket), address);
      if (!corked) {
        corked = true;
        raw.cork();
        process.nextTick(uncork);
      }
      socket.send(encodeAnswer(answer));
      if (socket.bufferedAmount > MAX_UNREAD_REPLY_BYTES) socket.terminate();
    });
  }

  private answer(data: RawData, scope: AgentScope | undefined, address: string | undefined): BeatSocketAnswer {
    let body: unknown;
    try {
      body = JSON.parse(data.toString());
    } catch (error) {
      return refuse(`invalid JSON: ${(error as Error).message}`);
    }
    return this.beats.handle(body, scope, address);
  }

  private ping(): void {
    for (const socket of this.wss.clients) {
      if (!this.alive.has(socket)) {
        socket.terminate();
        continue;
      }
      this.alive.delete(socket);
      socket.ping();
    }
  }
}

/** JSON.stringify(answer), written out for the answer nearly every beat gets (200, no commands, no eventsTaken, no config). */
export function encodeAnswer(answer: BeatSocketAnswer): string {
  const body = answer.body as BeatReply;
  if (
    answer.status !== 200 ||
    body.commands !== undefined ||
    body.eventsTaken !== undefined ||
    body.config !== undefined ||
    typeof body.result !== 'string'
  )
    return JSON.stringify(answer);
  const interval = body.interval === undefined ? '' : `,"interval":${body.interval}`;
  return `{"status":200,"body":{"result":"${body.result}","serverTime":${body.serverTime}${interval}}}`;
}

function refuse(error: string): BeatSocketAnswer {
  return { status: 400, body: { error } };
}

/** Answers a refused upgrade as the PUT would be answered: the status and a JSON reason. */
function refuseUpgrade(socket: Duplex, status: number, body: object): void {
  const text = JSON.stringify(body);
  const reason = status === 401 ? 'Unauthorized' : 'Forbidden';
  const extra = status === 401 ? 'www-authenticate: Bearer realm="vigil"\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}connection: close\r\n\r\n${text}`,
  );
}

function pathOf(url: string | undefined): string {
  const query = url?.indexOf('?') ?? -1;
  return query === -1 ? (url ?? '') : (url ?? '').slice(0, query);
}
