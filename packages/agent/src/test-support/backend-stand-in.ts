import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEARTBEAT_PATH, HEARTBEAT_SOCKET_PATH } from '@vigil/protocol/constants';
import { WebSocketServer } from 'ws';
import type { AgentEvent, EventBatch, Heartbeat } from '../protocol';

/** A request as the stand-in received it. */
export interface Received {
  method: string;
  path: string;
  body: unknown;
  /** Which connection carried it, counting from 0: one connection for many requests is keep-alive at work. */
  connection: number;
  at: number;
  /** The Authorization header, if any (the agent token); for a beat over the socket, the upgrade's. */
  authorization: string | undefined;
  /** How it came: an HTTP request, or a message on the beat socket (recorded as a PUT of a beat). */
  via: 'http' | 'socket';
  /** What the stand-in answered. */
  answered?: Answer;
}

export interface Answer {
  status: number;
  body?: unknown;
}

export type Answerer = (request: Received, index: number) => Answer;

/** The real backend's answers to beats and events, for what a test does not answer itself. */
export const backendLike: Answerer = ({ path, body }) => {
  if (path.endsWith('/events')) return { status: 202, body: { accepted: (body as EventBatch).events.length } };
  const beat = body as Heartbeat;
  const result = beat.kind === 'goodbye' ? 'offline' : beat.kind === 'full' ? 'registered' : 'renewed';
  // A full beat's events are recorded, and the reply says so.
  const taken = beat.kind === 'full' && (beat.events !== undefined || beat.dropped !== undefined);
  return { status: 200, body: { result, serverTime: Date.now(), ...(taken && { eventsTaken: true }) } };
};

export interface StandIn {
  url: string;
  received: Received[];
  beats(): Heartbeat[];
  /** Events as the backend records them: from batches, and carried by a goodbye. */
  events(): AgentEvent[];
  close(): Promise<void>;
}

/**
 * A local server standing in for the backend: records every request, answers with `answer`.
 * Like the real backend it takes beats over the beat socket, the agent's default; with
 * `{ socket: false }` it refuses the upgrade, as an old backend or a proxy that drops upgrades
 * would (the agent then beats over HTTP).
 */
export async function backendStandIn(answer: Answerer = backendLike, options: { socket?: boolean } = {}): Promise<StandIn> {
  const received: Received[] = [];
  let connections = 0;
  const record = (request: Received): Answer => {
    const answered = answer(request, received.length);
    received.push({ ...request, answered });
    return answered;
  };
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const request: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
        connection: (req.socket as unknown as { index: number }).index,
        at: Date.now(),
        authorization: req.headers.authorization,
        via: 'http',
      };
      const { status, body } = record(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  server.on('connection', (socket) => Object.assign(socket, { index: connections++ }));
  server.on('upgrade', (req, socket, head) => {
    if (options.socket === false || req.url !== HEARTBEAT_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const connection = (socket as unknown as { index: number }).index;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => {
        const { status, body } = record({
          method: 'PUT',
          path: HEARTBEAT_PATH,
          body: JSON.parse(String(data)) as unknown,
          connection,
          at: Date.now(),
          authorization: req.headers.authorization,
          via: 'socket',
        });
        ws.send(JSON.stringify({ status, body }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    beats: () => received.filter((request) => request.path.endsWith('/heartbeat')).map((request) => request.body as Heartbeat),
    events: () =>
      received.flatMap((request) => {
        if (request.path.endsWith('/events')) return (request.body as EventBatch).events;
        const beat = request.body as Heartbeat;
        if (!request.path.endsWith('/heartbeat')) return [];
        if (beat.kind === 'goodbye') return beat.events ?? [];
        // A full beat's, when the answer said they were taken.
        const taken = (request.answered?.body as { eventsTaken?: unknown } | undefined)?.eventsTaken === true;
        return beat.kind === 'full' && taken ? (beat.events ?? []) : [];
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
