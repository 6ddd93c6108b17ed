/**
 * Clients that break off or dawdle, against the real backend over raw sockets (node:net): what
 * the backend logs, and which connections it closes.
 */
import { connect, type Socket } from 'node:net';
import { HEARTBEAT_SOCKET_PATH, type BeatSocketAnswer } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { fullBeat, killAll, startBackend, waitFor, type Backend } from './harness.js';

afterEach(() => killAll());

function open(backend: Backend): Promise<Socket> {
  const { hostname, port } = new URL(backend.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A request head promising `length` bytes of body. */
function head(method: string, path: string, length: number, type = 'application/json'): string {
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${type}\r\ncontent-length: ${length}\r\n\r\n`;
}

/** Sends `text`, then closes the connection at once, without the rest of the body. */
async function sendAndAbort(backend: Backend, text: string): Promise<void> {
  const socket = await open(backend);
  await new Promise<void>((resolve) => socket.write(text, () => resolve()));
  socket.destroy();
}

describe('aborted request bodies', () => {
  it('are at most a debug line each: every line on stdout is JSON, no stack traces', async () => {
    const backend = await startBackend({ VIGIL_LOG_LEVEL: 'debug' });
    const lineCount = () =>
      backend
        .stdout()
        .split('\n')
        .filter((line) => line !== '').length;
    const atStart = lineCount();
    const bodies = [
      head('POST', '/api/v1/auth/login', 100) + '{"pa',
      head('POST', '/nacos/v1/ns/instance', 100, 'application/x-www-form-urlencoded') + 'serv',
      // Not the fast path's exact content type: Fastify's route (its own error handler, no log line).
      head('PUT', '/api/v1/heartbeat', 100, 'application/json; charset=UTF-8') + '{"v"',
    ];
    const rounds = 100;
    for (let i = 0; i < rounds; i += 1) await Promise.all(bodies.map((body) => sendAndAbort(backend, body)));
    // The login and Nacos aborts reach Nest's exception handling: wait until it has seen them all.
    await waitFor(
      'the backend to log the aborted login and Nacos requests',
      () => {
        const seen = backend
          .output()
          .split('\n')
          .filter((line) => line.includes('aborted')).length;
        return seen >= 2 * rounds ? seen : undefined;
      },
      20_000,
    );
    expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);

    const lines = backend
      .stdout()
      .split('\n')
      .filter((line) => line !== '');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(backend.output()).not.toMatch(/\n\s+at /);
    expect(backend.output()).not.toContain('ExceptionsHandler');
    // One line per aborted request at most.
    expect(lineCount() - atStart).toBeLessThanOrEqual(bodies.length * rounds);
  });
});

/** A raw connection that records what it was answered and whether the server closed it. */
async function watched(backend: Backend): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = await open(backend);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => received, closed };
}

/** Resolves when `closed` does, or rejects after `timeoutMs` (a generous limit, not a measure). */
function within<T>(what: string, promise: Promise<T>, timeoutMs = 20_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs)),
  ]);
}

describe('slow clients', () => {
  const TOKEN = 'agent-token-slow-clients-0123';

  it(
    'a body or head that never finishes is closed after VIGIL_REQUEST_TIMEOUT_MS, WebSockets and idle keep-alive connections stay',
    { timeout: 60_000 },
    async () => {
      const backend = await startBackend({ VIGIL_AGENT_TOKENS: TOKEN, VIGIL_REQUEST_TIMEOUT_MS: '1000', VIGIL_HEADERS_TIMEOUT_MS: '1000' });
      // Long-lived connections opened first: a beat socket, and a keep-alive connection that has had its answer.
      const beatSocket = new WebSocket(backend.url.replace('http', 'ws') + HEARTBEAT_SOCKET_PATH, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await new Promise((resolve, reject) => beatSocket.once('open', resolve).once('error', reject));
      const keptAlive = await watched(backend);
      keptAlive.socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
      await waitFor('the first answer on the kept-alive connection', () => (keptAlive.received().includes('200 OK') ? true : undefined));

      const slow = await Promise.all(
        [
          head('POST', '/api/v1/auth/login', 100) + '{"pa',
          head('POST', '/nacos/v1/ns/instance', 100, 'application/x-www-form-urlencoded') + 'serv',
          // No token: answered 401 at once, then its body never comes.
          head('PUT', '/api/v1/heartbeat', 100) + '{"v"',
          // A head that never ends.
          'GET /api/v1/instances HTTP/1.1\r\nhost: 127.0.0.1\r\n',
          // Nothing at all.
          '',
        ].map(async (text) => {
          const connection = await watched(backend);
          connection.socket.write(text);
          return { text, ...connection };
        }),
      );
      // A byte now and then: the connection is never idle, the request never complete.
      const drip = setInterval(() => {
        for (const { socket, text } of slow) if (text.includes('content-length') && !socket.destroyed) socket.write(' ');
      }, 200);
      try {
        for (const connection of slow)
          await within(`the server to close ${JSON.stringify(connection.text.slice(0, 40))}`, connection.closed);
      } finally {
        clearInterval(drip);
      }
      for (const connection of [slow[0]!, slow[1]!, slow[3]!]) {
        expect(connection.received()).toMatch(/^HTTP\/1.1 408 /);
        expect(connection.received()).toContain('VIGIL_REQUEST_TIMEOUT_MS (1000 ms)');
      }
      // The refused beat had its answer: closed without a second one.
      expect(slow[2]!.received()).toMatch(/^HTTP\/1.1 401 /);
      expect(slow[2]!.received()).not.toContain('408');

      // Each slow connection outlived the timeout: the long-lived ones, older, are still served.
      const answer = new Promise<BeatSocketAnswer>((resolve) =>
        beatSocket.once('message', (data) => resolve(JSON.parse(String(data)) as BeatSocketAnswer)),
      );
      beatSocket.send(JSON.stringify(fullBeat('slow-clients-ws')));
      expect((await within('the beat socket to answer', answer)).status).toBe(200);
      keptAlive.socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
      await waitFor('the second answer on the kept-alive connection', () =>
        keptAlive.received().split('200 OK').length === 3 ? true : undefined,
      );
      beatSocket.close();
      keptAlive.socket.destroy();
    },
  );
});
