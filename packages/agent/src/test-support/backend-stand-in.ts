import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentEvent, EventBatch, Heartbeat } from '../protocol';

/** A request as the stand-in received it. */
export interface Received {
  method: string;
  path: string;
  body: unknown;
  /** Which connection carried it, counting from 0: one connection for many requests is keep-alive at work. */
  connection: number;
  at: number;
  /** The Authorization header, if any (the agent token). */
  authorization: string | undefined;
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
  return { status: 200, body: { result, serverTime: Date.now() } };
};

export interface StandIn {
  url: string;
  received: Received[];
  beats(): Heartbeat[];
  events(): AgentEvent[];
  close(): Promise<void>;
}

/** A local HTTP server standing in for the backend: records every request, answers with `answer`. */
export async function backendStandIn(answer: Answerer = backendLike): Promise<StandIn> {
  const received: Received[] = [];
  let connections = 0;
  const server = createServer((req: IncomingMessage, res) => {
    // The agent's attempts to open the beat socket: this stand-in is a backend without one, as
    // an old backend or a proxy that drops upgrades would be (the agent then beats over HTTP).
    if (req.headers.upgrade !== undefined) {
      res.writeHead(404).end();
      return;
    }
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
      };
      const { status, body } = answer(request, received.length);
      received.push(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  server.on('connection', (socket) => Object.assign(socket, { index: connections++ }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    beats: () => received.filter((request) => request.path.endsWith('/heartbeat')).map((request) => request.body as Heartbeat),
    events: () =>
      received.filter((request) => request.path.endsWith('/events')).flatMap((request) => (request.body as EventBatch).events),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
