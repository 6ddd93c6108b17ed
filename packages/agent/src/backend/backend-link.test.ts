import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backendStandIn, type StandIn } from '../test-support/backend-stand-in';
import { BackendLink, MAX_ANSWER_BYTES } from './backend-link';

describe('BackendLink', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function link(urls: string[]): BackendLink {
    const created = new BackendLink(urls, { keepAliveMs: 1000 });
    cleanups.push(() => created.close());
    return created;
  }

  async function standIn(status = 200): Promise<StandIn> {
    const created = await backendStandIn(() => ({ status, body: { ok: status } }));
    cleanups.push(created.close);
    return created;
  }

  it('sends JSON and reads the JSON answer, keeping a path prefix of the backend URL', async () => {
    const backend = await standIn();
    const answer = await link([`${backend.url}/vigil/`]).send('POST', '/api/v1/events', { hello: 'there' }, 1000);
    expect(answer).toEqual({ status: 200, body: { ok: 200 } });
    expect(backend.received[0]).toMatchObject({
      method: 'POST',
      path: '/vigil/api/v1/events',
      body: { hello: 'there' },
    });
  });

  it('fails over in order to the next backend when one is unreachable or answers 5xx, and sticks with the one that answered', async () => {
    // All listening before `down` closes, so none of the others can be given its port again.
    const down = await standIn();
    const broken = await standIn(503);
    const working = await standIn(200);
    const spare = await standIn(200);
    await down.close();
    const backends = link([down.url, broken.url, working.url, spare.url]);
    expect(backends.url).toBe(down.url);
    expect((await backends.send('PUT', '/a', {}, 1000)).status).toBe(200);
    expect(backends.url).toBe(working.url);
    expect(backends.urlOf('/api/v1/heartbeat')).toBe(`${working.url}/api/v1/heartbeat`);
    await backends.send('PUT', '/b', {}, 1000);
    expect(broken.received.map((request) => request.path)).toEqual(['/a']);
    expect(working.received.map((request) => request.path)).toEqual(['/a', '/b']);
    expect(spare.received).toEqual([]);
  });

  it('hands a 4xx answer back without failing over: the backend answered', async () => {
    const refusing = await standIn(404);
    const spare = await standIn(200);
    expect((await link([refusing.url, spare.url]).send('POST', '/x', {}, 1000)).status).toBe(404);
    expect(spare.received).toEqual([]);
  });

  it('rejects with the last failure, naming each backend, when none answers', async () => {
    const first = await standIn(500);
    const second = await standIn(502);
    await expect(link([first.url, second.url]).send('PUT', '/x', {}, 1000)).rejects.toThrow(`${second.url}: backend answered HTTP 502`);
  });

  it('refuses an answer larger than the limit, declared or streamed', async () => {
    const huge = 'x'.repeat(MAX_ANSWER_BYTES + 1);
    const server = createServer((req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': String(huge.length + 2) });
        res.end(JSON.stringify(huge));
      } else {
        // Chunked: no length declared up front.
        res.writeHead(200);
        res.write('"');
        res.end(`${huge}"`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const backends = link([`http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
    await expect(backends.send('PUT', '/declared', {}, 2000)).rejects.toThrow(/answer of \d+ bytes refused/);
    await expect(backends.send('PUT', '/streamed', {}, 2000)).rejects.toThrow(/answer longer than 65536 bytes refused/);
  });

  it('gives an empty or non-JSON body as undefined', async () => {
    const server = createServer((req, res) => res.end(req.url === '/html' ? '<html>' : ''));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const backends = link([`http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
    expect(await backends.send('PUT', '/html', {}, 1000)).toEqual({ status: 200, body: undefined });
    expect(await backends.send('PUT', '/empty', {}, 1000)).toEqual({ status: 200, body: undefined });
  });

  it('reaches a backend given by an IPv6 literal, on one kept-alive connection', async () => {
    const remotePorts: number[] = [];
    const server = createServer((req, res) => {
      remotePorts.push(req.socket.remotePort ?? -1);
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const backends = link([`http://[::1]:${(server.address() as AddressInfo).port}`]);
    expect(await backends.send('PUT', '/a', {}, 1000)).toEqual({ status: 200, body: { ok: true } });
    expect(await backends.send('PUT', '/b', {}, 1000)).toEqual({ status: 200, body: { ok: true } });
    expect(remotePorts).toHaveLength(2);
    expect(remotePorts[1]).toBe(remotePorts[0]);
  });

  it('gives up on an answer that does not come within the timeout', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    // Without the timeout the send would hang until the test's own timeout fails it.
    await expect(link([`http://127.0.0.1:${(server.address() as AddressInfo).port}`]).send('PUT', '/slow', {}, 200)).rejects.toThrow(
      'no answer within 200 ms',
    );
  });

  it('writes a request at once on an idle connection, and behind one in flight that is all sent (pipelined); none before the first', async () => {
    // `/held` is answered only once another request has arrived: only a write pipelined on the
    // same connection can bring that about while its answer is awaited.
    const seen: string[] = [];
    const held: Array<() => void> = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.socket.remotePort}`);
      req.resume();
      const answer = () => res.end('{}');
      if (req.url === '/held') held.push(answer);
      else {
        answer();
        for (const release of held.splice(0)) release();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const idle = link([url]);
    expect(idle.writeNow('PUT', '/before-any', '{}')).toBe(false);
    expect(await idle.send('PUT', '/first', {}, 10_000)).toEqual({ status: 200, body: {} });
    expect(idle.writeNow('POST', '/idle', '{}')).toBe(true);
    await vi.waitFor(() => expect(seen.at(-1)).toBe(`POST /idle ${seen[0]!.split(' ')[2]}`), { timeout: 10_000 });

    const busy = link([url]);
    const inFlight = busy.send('PUT', '/held', {}, 10_000);
    await vi.waitFor(() => expect(seen.at(-1)).toMatch(/^PUT \/held /), { timeout: 10_000 });
    expect(busy.writeNow('PUT', '/goodbye', '{"kind":"goodbye"}')).toBe(true);
    expect(await inFlight).toEqual({ status: 200, body: {} });
    const port = seen.at(-2)!.split(' ')[2];
    expect(seen.slice(-2)).toEqual([`PUT /held ${port}`, `PUT /goodbye ${port}`]);
  });
});
