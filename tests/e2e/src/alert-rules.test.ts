import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertRule, EventRecord, Instance } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startBackend, startProcess, waitFor, type Backend, type Proc } from './harness.js';

const require = createRequire(import.meta.url);
const INTERVAL_MS = 1_000;

/**
 * An alert rule on a real service (docs/alert-rules.md): the agent attached to it sends its
 * event-loop delay in every beat; the service blocks its own loop when asked over HTTP, the rule
 * fires, the service stops, the rule clears; both events reach a webhook receiver.
 */

/** A service that, from GET /block until GET /unblock, busy-waits 300 ms of every 350. */
const SERVICE = `
const { createServer } = require('node:http');
let blocker = null;
const server = createServer((req, res) => {
  if (req.url === '/block' && !blocker) {
    blocker = setInterval(() => { const end = Date.now() + 300; while (Date.now() < end); }, 50);
  }
  if (req.url === '/unblock' && blocker) {
    clearInterval(blocker);
    blocker = null;
  }
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log('listening on ' + server.address().port));
`;

function startService(backendUrl: string): Proc & { port: () => number | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-alerts-'));
  mkdirSync(join(dir, 'vigil'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    ['service.name=blocky', 'app.name=alerts-e2e', `heartbeat.interval=${INTERVAL_MS}`, `backend.url=${backendUrl}`, ''].join('\n'),
  );
  writeFileSync(join(dir, 'app.cjs'), SERVICE);
  const proc = startProcess(process.execPath, ['--require', require.resolve('@vigil/agent/register'), 'app.cjs'], { cwd: dir });
  return { ...proc, port: () => Number(/listening on (\d+)/.exec(proc.stdout())?.[1]) || undefined };
}

async function startReceiver(): Promise<{ url: string; received: EventRecord[]; server: Server }> {
  const received: EventRecord[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as EventRecord);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, received, server };
}

async function post<T>(backend: Backend, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${backend.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as T;
}

async function alertEvents(backend: Backend, instanceId: string): Promise<EventRecord[]> {
  const response = await fetch(`${backend.url}/api/v1/events?type=alert.&instanceId=${encodeURIComponent(instanceId)}`);
  return ((await response.json()) as { events: EventRecord[] }).events.reverse();
}

describe('an alert rule on a real service', () => {
  let backend: Backend;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    backend = await startBackend({
      VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
      VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-alerts-data-')),
    });
  });
  afterAll(() => {
    killAll();
    receiver.server.close();
  });

  it('fires when the service blocks its event loop for 2 beats, clears when it stops, and a webhook gets both', async () => {
    await post(backend, '/api/v1/webhooks', {
      name: 'alerts',
      url: receiver.url,
      format: 'generic',
      minLevel: 'normal',
      enabled: true,
      eventTypes: ['alert.'],
    });
    const rule = await post<AlertRule>(backend, '/api/v1/alert-rules', {
      name: 'loop blocked',
      metric: 'eventLoopDelayP99',
      comparison: '>',
      threshold: 200,
      forBeats: 2,
      level: 'important',
      service: 'blocky',
    });

    const service = startService(backend.url);
    const port = await waitFor('the service to listen', () => service.port(), 30_000);
    const instance = await waitFor(
      'the instance with its metrics',
      async () => (await backend.instances()).instances.find((i: Instance) => i.service === 'blocky' && i.metrics !== null),
      30_000,
    );
    // Quiet beats: a few intervals without an alert.
    await waitFor(
      'three quiet beats',
      async () => {
        const current = await backend.instance(instance.instanceId);
        return current?.metrics && current.metrics.sampledAt >= instance.metrics!.sampledAt + 3 * INTERVAL_MS ? current : undefined;
      },
      30_000,
    );
    expect(await alertEvents(backend, instance.instanceId)).toEqual([]);

    await fetch(`http://127.0.0.1:${port}/block`);
    const fired = await waitFor(
      'alert.fired',
      async () => (await alertEvents(backend, instance.instanceId)).find((e) => e.type === 'alert.fired'),
      30_000,
    );
    expect(fired).toMatchObject({
      level: 'important',
      service: 'blocky',
      attributes: { rule: rule.id, ruleName: 'loop blocked', metric: 'eventLoopDelayP99', threshold: '200' },
    });
    expect(Number(fired.attributes.value)).toBeGreaterThan(200);
    const listed = (await (await fetch(`${backend.url}/api/v1/alert-rules/${rule.id}`)).json()) as AlertRule;
    expect(listed.firing).toBe(1);

    await fetch(`http://127.0.0.1:${port}/unblock`);
    const cleared = await waitFor(
      'alert.cleared',
      async () => (await alertEvents(backend, instance.instanceId)).find((e) => e.type === 'alert.cleared'),
      30_000,
    );
    expect(cleared).toMatchObject({ level: 'normal', attributes: { rule: rule.id, reason: 'recovered' } });
    expect(Number(cleared.attributes.value)).toBeLessThanOrEqual(200);
    expect((await alertEvents(backend, instance.instanceId)).map((e) => e.type)).toEqual(['alert.fired', 'alert.cleared']);

    await waitFor('the webhook to receive both', () => (receiver.received.length >= 2 ? true : undefined), 30_000);
    expect(receiver.received.map((e) => [e.type, e.instanceId, e.attributes.rule])).toEqual([
      ['alert.fired', instance.instanceId, rule.id],
      ['alert.cleared', instance.instanceId, rule.id],
    ]);
  }, 120_000);
});
