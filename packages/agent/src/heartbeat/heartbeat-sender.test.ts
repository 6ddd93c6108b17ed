import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FullBeat, Heartbeat } from '@vigil/protocol/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { BeatClient } from './beat-client';
import { HeartbeatSender, MAX_BACKOFF_MS, nextDelay } from './heartbeat-sender';
import type { BeatContent } from './message';

describe('nextDelay', () => {
  const exact = () => 0.5;

  it('waits the interval after a success, with ±10 % jitter', () => {
    expect(nextDelay(5000, 0, exact)).toBe(5000);
    expect(nextDelay(5000, 0, () => 0)).toBe(4500);
    expect(nextDelay(5000, 0, () => 1)).toBe(5500);
  });

  it('backs off exponentially from the interval, capped at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 5000].map((failures) => nextDelay(5000, failures, exact))).toEqual([
      5000, 10_000, 20_000, MAX_BACKOFF_MS, MAX_BACKOFF_MS, MAX_BACKOFF_MS, MAX_BACKOFF_MS, MAX_BACKOFF_MS, MAX_BACKOFF_MS,
    ]);
  });

  it('never retries less often than the interval', () => {
    expect(nextDelay(60_000, 3, exact)).toBe(60_000);
  });
});

interface Received {
  method?: string;
  url?: string;
  contentType?: string;
  beat: Heartbeat;
}

type Answer = { status: number; result?: 'registered' | 'renewed' | 'unknown' };

/** A backend stand-in: records beats and answers each with `answer(beat, index)`. */
async function receiver(answer: (beat: Heartbeat, index: number) => Answer) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const beat = JSON.parse(body) as Heartbeat;
      const { status, result } = answer(beat, received.length);
      received.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], beat });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify({ result, serverTime: Date.now() }) : '{"error":"nope"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { received, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const renewing = (beat: Heartbeat): Answer => ({ status: 200, result: beat.kind === 'full' ? 'registered' : 'renewed' });

function content(overrides: Partial<BeatContent> = {}): BeatContent {
  return {
    instanceId: 'instance-1',
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    processId: 4242,
    dynamicInstall: false,
    version: '0.1.0',
    hostName: 'host',
    ip: ['10.0.0.1'],
    plugins: [],
    ...overrides,
  };
}

describe('HeartbeatSender', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  function send(url: string, describe: () => BeatContent, intervalMs = 100): HeartbeatSender {
    const sender = new HeartbeatSender({
      transport: new BeatClient(url, { timeoutMs: intervalMs, keepAliveMs: 1000 }),
      intervalMs,
      describe,
      backendUrl: url,
    });
    sender.start();
    cleanups.push(() => sender.stop());
    return sender;
  }

  it('sends a full beat first, light beats while nothing changes, and a full beat on a change', async () => {
    const backend = await receiver(renewing);
    cleanups.push(backend.close);
    let current = content();
    send(backend.url, () => current);
    await vi.waitFor(() => expect(backend.received.length).toBeGreaterThanOrEqual(3), { timeout: 3000 });
    current = content({ plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }] });
    const changedAt = backend.received.length;
    await vi.waitFor(() => expect(backend.received.length).toBeGreaterThanOrEqual(changedAt + 3), { timeout: 3000 });

    const beats = backend.received.map((r) => r.beat);
    expect(backend.received[0]).toMatchObject({ method: 'PUT', url: '/api/v1/heartbeat', contentType: 'application/json' });
    expect(beats[0]).toEqual({ v: 1, kind: 'full', heartbeatTime: expect.any(Number), lastHeartbeatTime: null, ...content() });
    expect(beats.slice(1, changedAt).map((beat) => beat.kind)).toEqual(Array(changedAt - 1).fill('light'));
    // The change shows up in the next beat at the latest (one may have been in flight).
    const firstFullAfter = beats.findIndex((beat, index) => index >= changedAt && beat.kind === 'full');
    expect(firstFullAfter).toBeLessThanOrEqual(changedAt + 1);
    expect((beats[firstFullAfter] as FullBeat).plugins).toEqual(current.plugins);
    expect(beats.slice(firstFullAfter + 1).every((beat) => beat.kind === 'light')).toBe(true);
    // Each beat names the time of the one before.
    beats.slice(1).forEach((beat, index) => expect(beat.lastHeartbeatTime).toBe(beats[index]?.heartbeatTime));
  });

  it('sends a full beat right away when the backend answers unknown to a light beat', async () => {
    const backend = await receiver((beat, index) =>
      index === 2 ? { status: 200, result: 'unknown' } : renewing(beat),
    );
    cleanups.push(backend.close);
    send(backend.url, () => content(), 400);
    await vi.waitFor(() => expect(backend.received.length).toBeGreaterThanOrEqual(4), { timeout: 5000 });
    const [, , unknown, next] = backend.received.map((r) => r.beat);
    expect(unknown?.kind).toBe('light');
    expect(next?.kind).toBe('full');
    expect((next?.heartbeatTime ?? Infinity) - (unknown?.heartbeatTime ?? 0)).toBeLessThan(200);
  });

  it('sends a full beat after a failed one', async () => {
    const backend = await receiver((beat, index) => (index === 2 ? { status: 500 } : renewing(beat)));
    cleanups.push(backend.close);
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    send(backend.url, () => content());
    await vi.waitFor(() => expect(backend.received.length).toBeGreaterThanOrEqual(5), { timeout: 3000 });
    expect(backend.received.slice(0, 5).map((r) => r.beat.kind)).toEqual(['full', 'light', 'light', 'full', 'light']);
  });

  it('keeps trying while the backend is unreachable, warning only once', async () => {
    const backend = await receiver(renewing);
    await backend.close();
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const debug = vi.spyOn(logger, 'debug').mockImplementation(() => undefined);
    send(backend.url, () => content());
    // Attempts at about 0, 100, 200 and 400 ms.
    await vi.waitFor(() => expect(debug.mock.calls.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/heartbeat to http:\/\/127\.0\.0\.1:\d+\/ failed \(.*ECONNREFUSED.*\)/);
  });

  it('stops beating when stopped', async () => {
    const backend = await receiver(renewing);
    cleanups.push(backend.close);
    const sender = send(backend.url, () => content());
    await vi.waitFor(() => expect(backend.received.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    await sender.stop();
    const count = backend.received.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(backend.received.length).toBe(count);
  });
});
