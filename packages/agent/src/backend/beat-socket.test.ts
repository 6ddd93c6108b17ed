import http, { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEARTBEAT_PATH, HEARTBEAT_SOCKET_PATH } from '@vigil/protocol/constants';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { unwrap, wrap, type Interceptor } from '../plugins/interceptor';
import { BackendLink } from './backend-link';
import { BeatSocketLink } from './beat-socket';

type SocketMode = 'answer' | 'silent' | 'refuse';

/** A backend with both beat paths: HTTP PUT and the beat socket; records which one each beat took. */
interface TwoPathBackend {
  url: string;
  mode: SocketMode;
  viaHttp: unknown[];
  viaSocket: unknown[];
  upgrades: number;
  /** When each upgrade request arrived. */
  upgradeTimes: number[];
  /** Drops every open socket, as a restarting backend does. */
  dropSockets(): void;
  close(): Promise<void>;
}

async function twoPathBackend(mode: SocketMode): Promise<TwoPathBackend> {
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      backend.viaHttp.push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: 'renewed', serverTime: Date.now() }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    backend.upgrades += 1;
    backend.upgradeTimes.push(Date.now());
    if (backend.mode === 'refuse' || req.url !== HEARTBEAT_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => {
        backend.viaSocket.push(JSON.parse(String(data)));
        if (backend.mode === 'answer') ws.send(JSON.stringify({ status: 200, body: { result: 'renewed', serverTime: Date.now() } }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const backend: TwoPathBackend = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode,
    viaHttp: [],
    viaSocket: [],
    upgrades: 0,
    upgradeTimes: [],
    dropSockets: () => {
      for (const client of wss.clients) client.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return backend;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BeatSocketLink', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function backend(mode: SocketMode): Promise<TwoPathBackend> {
    const created = await twoPathBackend(mode);
    cleanups.push(created.close);
    return created;
  }

  function link(urls: string[], retryMinMs = 50, openWaitMs = 0): BeatSocketLink {
    const http = new BackendLink(urls, { keepAliveMs: 1000 });
    cleanups.push(() => http.close());
    return new BeatSocketLink(http, { retryMinMs, retryMaxMs: 400, openWaitMs });
  }

  /** Sends `count` beats `{ n: from }`, `{ n: from + 1 }`... `gapMs` apart, as the heartbeat sender would; returns their answers. */
  async function beat(beats: BeatSocketLink, count: number, from = 0, gapMs = 20): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = from; i < from + count; i += 1) {
      statuses.push((await beats.send('PUT', HEARTBEAT_PATH, { n: i }, 500)).status);
      await sleep(gapMs);
    }
    return statuses;
  }

  /** Beats `{ n: 'until open' }` until the socket is open: the link opens it in the background when a beat finds none. */
  async function beatUntilOpen(beats: BeatSocketLink): Promise<void> {
    await vi.waitFor(
      async () => {
        if (!beats.connected) await beats.send('PUT', HEARTBEAT_PATH, { n: 'until open' }, 500);
        expect(beats.connected).toBe(true);
      },
      { timeout: 10_000, interval: 20 },
    );
  }

  it('sends the first beat over HTTP while the socket opens, then every beat over the socket', async () => {
    const target = await backend('answer');
    const beats = link([target.url]);
    expect(await beat(beats, 1)).toEqual([200]);
    expect(target.viaHttp).toEqual([{ n: 0 }]);
    await beatUntilOpen(beats);
    expect(await beat(beats, 5, 1)).toEqual([200, 200, 200, 200, 200]);
    expect(beats.connected).toBe(true);
    expect(target.viaHttp).toEqual([{ n: 0 }]);
    expect(target.viaSocket).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    expect(target.upgrades).toBe(1);
  });

  it('with openWaitMs, sends the first beat over the socket it opens (no HTTP request at all), and over HTTP when the upgrade is refused', async () => {
    const target = await backend('answer');
    const beats = link([target.url], 50, 2_000);
    expect(await beat(beats, 3)).toEqual([200, 200, 200]);
    expect(target.viaHttp).toEqual([]);
    expect(target.viaSocket).toEqual([0, 1, 2].map((n) => ({ n })));
    expect(target.upgrades).toBe(1);
    const refusing = await backend('refuse');
    const refused = link([refusing.url], 50, 2_000);
    expect(await beat(refused, 2)).toEqual([200, 200]);
    expect(refusing.viaHttp).toEqual([{ n: 0 }, { n: 1 }]);
    expect(refused.connected).toBe(false);
  });

  it('writes a beat at once, synchronously, on the open socket, then on the socket after it a second time; other requests on HTTP', async () => {
    const target = await backend('answer');
    const beats = link([target.url]);
    await beat(beats, 1);
    await beatUntilOpen(beats);
    // Both of the frame's length encodings (7 and 16 bits); and one over 64 KiB.
    const bodies = [{ n: 'now' }, { n: 'x'.repeat(200) }, { n: 'y'.repeat(70_000 - 8) }].map((beat) => JSON.stringify(beat));
    expect(beats.writeNow('PUT', HEARTBEAT_PATH, bodies[0] as string)).toBe(true);
    expect(beats.writeNow('PUT', HEARTBEAT_PATH, bodies[1] as string)).toBe(true);
    await vi.waitFor(() => expect(target.viaSocket.slice(-2)).toEqual(bodies.slice(0, 2).map((body) => JSON.parse(body))), {
      timeout: 10_000,
    });
    // The socket still works after frames written past ws: the next beat is answered on it.
    expect(await beat(beats, 1, 10)).toEqual([200]);
    expect(target.viaSocket.at(-1)).toEqual({ n: 10 });
    // Too long to be sure the kernel takes it at once: not written here (it goes out another way).
    expect(beats.writeNow('PUT', HEARTBEAT_PATH, bodies[2] as string)).toBe(false);
    // An event batch goes on the HTTP link's idle connection.
    expect(beats.writeNow('POST', '/api/v1/events', JSON.stringify({ batch: 'now' }))).toBe(true);
    await vi.waitFor(() => expect(target.viaHttp.at(-1)).toEqual({ batch: 'now' }), { timeout: 10_000 });
  });

  it('keeps everything that is not a beat on HTTP', async () => {
    const target = await backend('answer');
    const beats = link([target.url]);
    await beat(beats, 1);
    await beatUntilOpen(beats);
    await beat(beats, 2, 1);
    await beats.send('POST', '/api/v1/events', { batch: 1 }, 500);
    expect(target.viaHttp).toEqual([{ n: 0 }, { batch: 1 }]);
  });

  it('beats over HTTP against a backend that refuses the upgrade, trying the socket again less and less often', async () => {
    const target = await backend('refuse');
    const beats = link([target.url]);
    expect(await beat(beats, 40)).toEqual(Array.from({ length: 40 }, () => 200));
    expect(target.viaHttp).toHaveLength(40);
    expect(beats.connected).toBe(false);
    // Beats 20 ms apart, attempts spaced by a backoff from 50 ms doubling up to 400 ms: each
    // wait is at least as long as the backoff says, however slow the machine.
    expect(target.upgrades).toBeGreaterThanOrEqual(2);
    const gaps = target.upgradeTimes.slice(1).map((at, i) => at - (target.upgradeTimes[i] as number));
    for (const [i, gap] of gaps.entries()) expect(gap, `wait before attempt ${i + 2}`).toBeGreaterThanOrEqual(Math.min(400, 50 * 2 ** i));
  });

  it('sends a beat the socket does not answer in time over HTTP, and drops that socket', async () => {
    const target = await backend('answer');
    const beats = link([target.url], 10_000);
    await beatUntilOpen(beats);
    target.mode = 'silent';
    expect((await beats.send('PUT', HEARTBEAT_PATH, { n: 'stuck' }, 300)).status).toBe(200);
    expect(target.viaSocket).toContainEqual({ n: 'stuck' });
    expect(target.viaHttp).toContainEqual({ n: 'stuck' });
    expect(beats.connected).toBe(false);
  });

  it('comes back to the socket soon after the backend dropped it (a restart)', async () => {
    const target = await backend('answer');
    const beats = link([target.url]);
    await beatUntilOpen(beats);
    target.dropSockets();
    await vi.waitFor(() => expect(beats.connected).toBe(false), { timeout: 10_000 });
    expect(await beat(beats, 3)).toEqual([200, 200, 200]);
    await beatUntilOpen(beats);
    expect(await beat(beats, 1, 9)).toEqual([200]);
    // The first attempt after the drop opened it again: no backoff grew in between.
    expect(target.upgrades).toBe(2);
    expect(target.viaSocket.at(-1)).toEqual({ n: 9 });
  });

  it('follows the link to the next backend when the current one goes away', async () => {
    const first = await backend('answer');
    const second = await backend('answer');
    const beats = link([first.url, second.url]);
    await beatUntilOpen(beats);
    await first.close();
    expect(await beat(beats, 3)).toEqual([200, 200, 200]);
    expect(beats.url).toBe(second.url);
    await beatUntilOpen(beats);
    expect(await beat(beats, 1, 5)).toEqual([200]);
    expect(second.viaSocket.at(-1)).toEqual({ n: 5 });
  });

  it('stays out of the sight of plugins intercepting node:http, over HTTP and the socket', async () => {
    const target = await backend('answer');
    const seen: string[] = [];
    const spy = (name: string): Interceptor[] => [{ pluginName: 'spy', hooks: { before: () => void seen.push(name) } }];
    wrap(http, 'request', spy('http.request'));
    wrap(http.ClientRequest.prototype, 'end', spy('ClientRequest.end'));
    cleanups.push(async () => {
      unwrap(http, 'request');
      unwrap(http.ClientRequest.prototype, 'end');
    });
    const beats = link([target.url]);
    expect(await beat(beats, 1)).toEqual([200]);
    await beatUntilOpen(beats);
    expect(await beat(beats, 3, 1)).toEqual([200, 200, 200]);
    expect(target.viaHttp.length).toBeGreaterThan(0);
    expect(target.viaSocket.length).toBeGreaterThan(0);
    expect(seen).toEqual([]);
    // The host's own requests are still seen.
    await new Promise((resolve) => http.request(`${target.url}/x`, { method: 'PUT' }, (res) => res.resume().on('end', resolve)).end('{}'));
    expect(seen).toEqual(['http.request', 'ClientRequest.end']);
  });
});
