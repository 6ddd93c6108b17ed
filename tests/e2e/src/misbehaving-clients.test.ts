/**
 * Clients that break off or dawdle, against the real backend over raw sockets (node:net): what
 * the backend logs, and which connections it closes.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startBackend, waitFor, type Backend } from './harness.js';

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
    const lineCount = () => backend.stdout().split('\n').filter((line) => line !== '').length;
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
    await waitFor('the backend to log the aborted login and Nacos requests', () => {
      const seen = backend.output().split('\n').filter((line) => line.includes('aborted')).length;
      return seen >= 2 * rounds ? seen : undefined;
    }, 20_000);
    expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);

    const lines = backend.stdout().split('\n').filter((line) => line !== '');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(backend.output()).not.toMatch(/\n\s+at /);
    expect(backend.output()).not.toContain('ExceptionsHandler');
    // One line per aborted request at most.
    expect(lineCount() - atStart).toBeLessThanOrEqual(bodies.length * rounds);
  });
});
