import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSender } from './webhook-sender.js';

describe('WebhookSender against a local server', () => {
  let server: Server;
  let base: string;
  const received: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/ok': (res) => res.end('{"errcode":0}'),
    '/redirect': (res) => res.writeHead(302, { location: '/ok' }).end(),
    '/slow': () => undefined, // never answers
    '/big': (res) => res.end('x'.repeat(100_000)),
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body });
        routes[req.url ?? '']?.(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const allowed = new WebhookSender({ allowPrivate: true, timeoutMs: 300 });

  it('POSTs the JSON body and answers status and the start of the reply', async () => {
    const result = await allowed.post(`${base}/ok`, '{"text":"hi"}');
    expect(result).toMatchObject({ status: 200, body: '{"errcode":0}' });
    expect(received.at(-1)).toMatchObject({
      url: '/ok',
      body: '{"text":"hi"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  });

  it('does not follow a redirect', async () => {
    const before = received.length;
    expect(await allowed.post(`${base}/redirect`, '{}')).toMatchObject({ status: 302 });
    expect(received.slice(before).map((r) => r.url)).toEqual(['/redirect']);
  });

  it('keeps only the start of a long reply', async () => {
    const result = await allowed.post(`${base}/big`, '{}');
    expect('body' in result && result.body.length).toBe(4096);
  });

  it('gives up after the timeout', async () => {
    const result = await allowed.post(`${base}/slow`, '{}');
    expect(result).toMatchObject({ error: 'timed out after 300 ms', refused: false });
  });

  it('reports a connection error', async () => {
    const result = await allowed.post('http://127.0.0.1:1/x', '{}');
    expect(result).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/), refused: false });
  });

  it('stops at once when cancelled', async () => {
    const cancel = new AbortController();
    const pending = allowed.post(`${base}/slow`, '{}', cancel.signal);
    cancel.abort();
    expect(await pending).toMatchObject({ error: 'cancelled: the backend is stopping' });
  });

  it('refuses private targets unless allowed, by address or by name, before sending anything', async () => {
    const strict = new WebhookSender({ allowPrivate: false, timeoutMs: 300 });
    const before = received.length;
    expect(await strict.post(`${base}/ok`, '{}')).toEqual({
      error: 'refused: 127.0.0.1 is a private address',
      refused: true,
      durationMs: 0,
    });
    const port = new URL(base).port;
    expect(await strict.post(`http://localhost:${port}/ok`, '{}')).toMatchObject({
      error: expect.stringMatching(/^localhost resolves to .* which is a loopback/),
      refused: true,
    });
    expect(received.length).toBe(before);
  });
});
