import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backendStandIn } from '../test-support/backend-stand-in';
import { sendSync } from './sync-send';

const built = path.join(__dirname, '..', '..', 'dist', 'lifecycle', 'sync-send.js');

describe('sendSync', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('delivers the requests before it returns, from within an exit listener', async () => {
    const standIn = await backendStandIn();
    cleanups.push(standIn.close);
    // The stand-in answers from this thread's event loop, which sendSync would block: call it from a child.
    const script = `
      const { sendSync } = require(${JSON.stringify(built)});
      process.on('exit', () => sendSync([
        { method: 'PUT', url: '${standIn.url}/api/v1/heartbeat', body: '{"kind":"goodbye"}' },
        { method: 'POST', url: '${standIn.url}/api/v1/events', body: '{"events":[]}' },
      ], 2000));
      process.exit(3);
    `;
    const code = await new Promise((resolve) => spawn(process.execPath, ['-e', script]).on('exit', resolve));
    expect(code).toBe(3);
    expect(standIn.received.map(({ method, path, body }) => ({ method, path, body }))).toEqual(
      expect.arrayContaining([
        { method: 'PUT', path: '/api/v1/heartbeat', body: { kind: 'goodbye' } },
        { method: 'POST', path: '/api/v1/events', body: { events: [] } },
      ]),
    );
  });

  it('sends over https with the agent token, trusting only the given CA', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-sync-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const seen: Array<string | undefined> = [];
    const server = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/heartbeat`;
    const run = (ca: string | undefined) => {
      const request = {
        method: 'PUT',
        url,
        body: '{}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer agent-token-0123456789' },
        ca,
      };
      const script = `require(${JSON.stringify(built)}).sendSync([${JSON.stringify(request)}], 2000);`;
      return new Promise((resolve) => spawn(process.execPath, ['-e', script]).on('exit', resolve));
    };
    await run(undefined);
    // Sent to be sure, but the server never saw it: the self-signed certificate is not trusted.
    expect(seen).toEqual([]);
    await run(readFileSync(cert, 'utf8'));
    await vi.waitFor(() => expect(seen).toEqual(['Bearer agent-token-0123456789']), { timeout: 10_000 });
  });

  /** A server that accepts connections and then neither reads nor answers. */
  async function silentServer(): Promise<string> {
    const sockets: Socket[] = [];
    const silent = createServer({ pauseOnConnect: true }, (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    return `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
  }

  it('returns once the requests are on their way, without waiting for the answers', async () => {
    const url = await silentServer();
    const started = Date.now();
    sendSync([{ method: 'PUT', url, body: '{}', headers: {} }], 60_000);
    // Waiting for the answer that never comes would take the whole minute.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('gives up after the timeout when a request cannot be sent', async () => {
    const url = await silentServer();
    const started = Date.now();
    // More than the kernel buffers hold for a peer that does not read: the send never completes.
    sendSync([{ method: 'PUT', url, body: 'x'.repeat(32 * 1024 * 1024), headers: {} }], 300);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    // A send that never completes would block for good: returning at all is giving up.
    expect(elapsed).toBeLessThan(30_000);
  });
});
