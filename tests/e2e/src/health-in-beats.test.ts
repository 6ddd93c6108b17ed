import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList, Instance } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startBackend, startProcess, waitFor, type Backend, type Proc } from './harness.js';

/**
 * Health and load in every beat (issue 21), with real processes: the built backend, and a
 * service under the real agent whose own code sets a health indicator through
 * `require('@vigil/agent')` and which a test can make burn CPU, block its event loop, or turn
 * its indicator down, up, hanging or throwing over HTTP. A local HTTP server is the webhook.
 */

const require = createRequire(import.meta.url);
const INTERVAL_MS = 1_000;
/** How long a test waits for what should come within an interval or two: generous, for a busy machine. */
const PATIENCE_MS = 20_000;

interface Posted {
  type: string;
  instanceId?: string;
  attributes: Record<string, string>;
}

/** A CommonJS service: `/burn?ms=` spins in 20 ms slices (CPU, loop still turning), `/block?ms=` blocks the loop, `/db?mode=` sets its indicator. */
const SERVICE = `
const { createServer } = require('node:http');
const { HealthService, ServiceManager } = require(${JSON.stringify(require.resolve('@vigil/agent'))});
let mode = 'up';
ServiceManager.getService(HealthService).setIndicator('db', () => {
  if (mode === 'down') return { status: 'down', details: { error: 'ECONNREFUSED', host: 'db.internal:5432' } };
  if (mode === 'hang') return new Promise(() => {});
  if (mode === 'throw') throw new Error('pool exhausted');
  return { status: 'up' };
});
const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const ms = Number(url.searchParams.get('ms') ?? 0);
  if (url.pathname === '/db') mode = url.searchParams.get('mode');
  if (url.pathname === '/block') spin(ms);
  if (url.pathname === '/burn') {
    const end = Date.now() + ms;
    const slice = () => { spin(20); if (Date.now() < end) setImmediate(slice); };
    slice();
  }
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log('app listening on ' + server.address().port));
`;

function startService(backendUrl: string): Proc & { port: () => number | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-health-'));
  mkdirSync(join(dir, 'vigil'));
  // No plugin: the application's own indicator is the only one.
  mkdirSync(join(dir, 'no-plugins'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      'service.name=health-e2e',
      'app.name=e2e',
      `heartbeat.interval=${INTERVAL_MS}`,
      `backend.url=${backendUrl}`,
      `plugins.dir=${join(dir, 'no-plugins')}`,
      'health.timeout=300',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'app.cjs'), SERVICE);
  const proc = startProcess(process.execPath, ['--require', require.resolve('@vigil/agent/register'), 'app.cjs'], { cwd: dir });
  return { ...proc, port: () => Number(/app listening on (\d+)/.exec(proc.stdout())?.[1]) || undefined };
}

describe('health and load in the beats of a real service', () => {
  let backend: Backend;
  let service: ReturnType<typeof startService>;
  let receiver: Server;
  const posted: Posted[] = [];
  let instanceId: string;

  const current = async (): Promise<Instance> => (await backend.instance(instanceId))!;
  const poke = async (path: string) => {
    const port = await waitFor('the service to listen', () => service.port(), PATIENCE_MS);
    expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(200);
  };
  const eventsOf = async (type: string) =>
    ((await (await fetch(`${backend.url}/api/v1/events?instanceId=${instanceId}&type=${type}`)).json()) as EventList).events;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        posted.push(JSON.parse(body) as Posted);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    backend = await startBackend({
      VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
      VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-health-data-')),
    });
    const hook = await fetch(`${backend.url}/api/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'health',
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        format: 'generic',
        minLevel: 'normal',
        enabled: true,
        eventTypes: ['instance.unhealthy', 'instance.recovered'],
      }),
    });
    expect(hook.status).toBe(201);
    service = startService(backend.url);
    const instance = await waitFor(
      'the service to register',
      async () => (await backend.instances()).instances.find((i) => i.processId === service.child.pid),
      PATIENCE_MS,
    );
    instanceId = instance.instanceId;
  }, 60_000);

  afterAll(async () => {
    killAll();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it("shows the service's metrics in the API, and they move when it burns CPU or blocks its loop", async () => {
    const first = await waitFor('metrics in the API', async () => (await current()).metrics ?? undefined, PATIENCE_MS);
    expect(first.rss).toBeGreaterThan(10e6);
    expect(first.heapLimit).toBeGreaterThan(first.heapUsed!);
    // They are the latest beat's: a later beat brings new ones.
    await waitFor('newer metrics', async () => ((await current()).metrics!.sampledAt > first.sampledAt ? true : undefined), PATIENCE_MS);

    await poke('/burn?ms=4000');
    const busy = await waitFor(
      'CPU over 50 %',
      async () => ((await current()).metrics!.cpu! > 50 ? (await current()).metrics! : undefined),
      PATIENCE_MS,
    );
    expect(busy.eventLoopUtilization).toBeGreaterThan(0.3);

    await poke('/block?ms=1500');
    const blocked = await waitFor(
      'an event-loop delay of the blocked 1.5 s',
      async () => ((await current()).metrics!.eventLoopDelayMax! >= 1_000 ? (await current()).metrics! : undefined),
      PATIENCE_MS,
    );
    expect(blocked.eventLoopDelayMax).toBeLessThan(60_000);
    // The history has them too.
    const history = (await (await fetch(`${backend.url}/api/v1/instances/${instanceId}/metrics`)).json()) as {
      samples: Array<{ cpu: number | null; eventLoopDelayMax: number | null }>;
    };
    expect(Math.max(...history.samples.map((s) => s.eventLoopDelayMax ?? 0))).toBeGreaterThanOrEqual(1_000);
  });

  it('turns the instance unhealthy when its indicator goes down and healthy when it is up, with the events and webhook calls', async () => {
    await poke('/db?mode=down');
    const down = await waitFor(
      'the instance unhealthy',
      async () => ((await current()).status === 'unhealthy' ? current() : undefined),
      PATIENCE_MS,
    );
    expect(down.health).toEqual({
      status: 'down',
      indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED', host: 'db.internal:5432' } } },
    });
    expect(await eventsOf('instance.unhealthy')).toMatchObject([
      { level: 'important', attributes: { indicators: 'db', 'db.error': 'ECONNREFUSED', 'db.host': 'db.internal:5432' } },
    ]);

    await poke('/db?mode=up');
    await waitFor('the instance healthy again', async () => ((await current()).status === 'healthy' ? true : undefined), PATIENCE_MS);
    expect((await current()).health?.status).toBe('up');
    expect((await eventsOf('instance.recovered')).map((e) => e.message)).toContain('reports its health up again');
    await waitFor(
      'both webhook calls',
      () => (posted.filter((p) => p.instanceId === instanceId).length >= 2 ? true : undefined),
      PATIENCE_MS,
    );
    expect(posted.filter((p) => p.instanceId === instanceId).map((p) => p.type)).toEqual(['instance.unhealthy', 'instance.recovered']);
    expect(posted[0]!.attributes).toMatchObject({ indicators: 'db', 'db.error': 'ECONNREFUSED' });
  });

  it('keeps beating while the indicator throws or hangs: down with the reason, and never a lost instance', async () => {
    // Throwing first: a hung provider is not called again until its promise settles, which this one never does.
    for (const [mode, reason] of [
      ['throw', /pool exhausted/],
      ['hang', /timed out after 300 ms/],
    ] as const) {
      await poke(`/db?mode=${mode}`);
      const down = await waitFor(
        `the instance unhealthy (${mode})`,
        async () => ((await current()).status === 'unhealthy' ? current() : undefined),
        PATIENCE_MS,
      );
      expect(down.health?.indicators.db?.details?.error).toMatch(reason);
      // Beats go on: the backend sees new ones, and the instance is never suspect or lost.
      const since = down.lastHeartbeatTime;
      await waitFor(
        'beats to go on',
        async () => ((await current()).lastHeartbeatTime >= since + 2 * INTERVAL_MS ? true : undefined),
        PATIENCE_MS,
      );
      expect((await current()).status).toBe('unhealthy');
      if (mode === 'throw') {
        await poke('/db?mode=up');
        await waitFor('healthy again', async () => ((await current()).status === 'healthy' ? true : undefined), PATIENCE_MS);
      }
    }
    const transitions = await eventsOf('instance.');
    expect(transitions.filter((e) => e.type === 'instance.lost' || e.type === 'instance.suspect')).toEqual([]);
  });
});
