/**
 * Metrics and health as a service attached with the built agent sends them: real child
 * processes, told over stdin to burn CPU, block their loop or report themselves down, beating to
 * the backend stand-in over the beat socket.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { METRIC_FIELDS } from './protocol';
import type { FullBeat, Heartbeat } from './protocol';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { backendStandIn, type StandIn } from './test-support/backend-stand-in';
import { attach, requireBuilt, runNode, type NodeRun } from './test-support/node-process';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(): Promise<StandIn> {
  const standIn = await backendStandIn();
  cleanups.push(standIn.close);
  return standIn;
}

/**
 * The app: its own indicator `app` through the HealthService of `@vigil/agent`, and commands on
 * stdin: `down` / `up` (the indicator), `burn` (150 ms of CPU every 200 ms), `block` (the loop
 * blocked 300 ms every 350 ms, without CPU), `calm`.
 */
const appBody = `
let state = { status: 'up' };
ServiceManager.getService(HealthService).setIndicator('app', () => state);
let busy;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  for (const command of text.split('\\n').filter(Boolean)) {
    clearInterval(busy);
    if (command === 'down') state = { status: 'down', details: { reason: 'switched off', since: 'now' } };
    if (command === 'up') state = { status: 'up' };
    if (command === 'burn') busy = setInterval(() => { const end = Date.now() + 150; while (Date.now() < end); }, 200);
    if (command === 'block') busy = setInterval(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300), 350);
  }
});
console.log('ready');
`;

/**
 * A temp app folder. The ES module app imports @vigil/agent from its own node_modules, where a
 * copy whose services do nothing sits (an app installs the agent it attaches): it must get the
 * running agent all the same. The CommonJS app has no copy: its require is resolved to the agent.
 */
function app(kind: 'esm' | 'cjs'): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-health-app-'));
  if (kind === 'cjs') {
    writeFileSync(path.join(dir, 'app.cjs'), `const { HealthService, ServiceManager } = require('@vigil/agent');\n${appBody}`);
    return { dir, file: 'app.cjs' };
  }
  const copy = path.join(dir, 'node_modules', '@vigil', 'agent');
  mkdirSync(path.join(copy, 'dist'), { recursive: true });
  writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ name: '@vigil/agent', version: '0.1.0', main: 'dist/index.js' }));
  writeFileSync(
    path.join(copy, 'dist', 'index.js'),
    [
      'exports.HealthService = class HealthService { static serviceName = "health"; };',
      'exports.ServiceManager = { getService: () => ({ setIndicator() {} }) };',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'app.mjs'), `import { HealthService, ServiceManager } from '@vigil/agent';\n${appBody}`);
  return { dir, file: 'app.mjs' };
}

function start(kind: 'esm' | 'cjs', standIn: StandIn, env: Record<string, string> = {}): NodeRun {
  const { dir, file } = app(kind);
  const run = runNode(dir, [...attach[kind], file], {
    VIGIL_BACKEND_URL: standIn.url,
    VIGIL_HEARTBEAT_INTERVAL: '200',
    VIGIL_PLUGINS: '',
    VIGIL_SERVICE_NAME: `health-${kind}`,
    ...env,
  });
  cleanups.push(() => run.stop());
  return run;
}

const figure = (beat: Heartbeat, field: (typeof METRIC_FIELDS)[number]): number | null | undefined =>
  (beat as { metrics?: (number | null)[] }).metrics?.[METRIC_FIELDS.indexOf(field)];

const fullBeats = (standIn: StandIn): FullBeat[] => standIn.beats().filter((beat): beat is FullBeat => beat.kind === 'full');

describe('an attached service', () => {
  beforeAll(() => requireBuilt());

  it('sends metrics in every beat that move when it burns CPU and when it blocks its loop', async () => {
    const standIn = await backend();
    const { child, stderr } = start('cjs', standIn);
    await vi.waitFor(() => expect(standIn.beats().length, stderr()).toBeGreaterThanOrEqual(6), { timeout: 10_000 });
    const idle = standIn.beats().slice(2);
    child.stdin?.write('burn\n');
    const burnFrom = standIn.beats().length;
    await vi.waitFor(
      () => {
        const burning = standIn.beats().slice(burnFrom);
        expect(burning.some((beat) => (figure(beat, 'cpu') ?? 0) >= 30 && (figure(beat, 'eventLoopUtilization') ?? 0) >= 0.5)).toBe(true);
      },
      { timeout: 15_000, interval: 100 },
    );
    child.stdin?.write('block\n');
    const blockFrom = standIn.beats().length;
    await vi.waitFor(
      () =>
        expect(
          standIn
            .beats()
            .slice(blockFrom)
            .some((beat) => (figure(beat, 'eventLoopDelayP99') ?? 0) >= 200),
        ).toBe(true),
      { timeout: 15_000, interval: 100 },
    );

    // On the beat socket, the default transport (a field once went missing there only).
    expect(
      standIn.received.some((request) => request.via === 'socket' && (request.body as { metrics?: unknown }).metrics !== undefined),
    ).toBe(true);
    for (const beat of standIn.beats().filter((sent) => sent.kind !== 'goodbye')) {
      expect((beat as { metrics?: unknown[] }).metrics).toHaveLength(METRIC_FIELDS.length);
    }
    const busiest = Math.max(
      ...standIn
        .beats()
        .slice(burnFrom)
        .map((beat) => figure(beat, 'cpu') ?? 0),
    );
    expect(Math.min(...idle.map((beat) => figure(beat, 'cpu') ?? Infinity))).toBeLessThan(busiest);
    expect(Math.min(...idle.map((beat) => figure(beat, 'eventLoopDelayP99') ?? Infinity))).toBeLessThan(200);
  }, 40_000);

  it.each(['esm', 'cjs'] as const)(
    'reports the health its %s app sets through its own import of @vigil/agent: a full beat on each change, light ones between',
    async (kind) => {
      const standIn = await backend();
      const { child, stderr } = start(kind, standIn);
      const up = { status: 'up', indicators: { app: { status: 'up' } } };
      await vi.waitFor(
        () => {
          expect(fullBeats(standIn)[0]?.health, stderr()).toEqual(up);
          expect(standIn.beats().length).toBeGreaterThanOrEqual(3);
        },
        { timeout: 10_000 },
      );
      child.stdin?.write('down\n');
      await vi.waitFor(
        () =>
          expect(fullBeats(standIn).at(-1)?.health).toEqual({
            status: 'down',
            indicators: { app: { status: 'down', details: { reason: 'switched off', since: 'now' } } },
          }),
        { timeout: 10_000 },
      );
      const downAt = standIn.beats().length;
      await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(downAt + 2), { timeout: 10_000 });
      child.stdin?.write('up\n');
      await vi.waitFor(() => expect(fullBeats(standIn).at(-1)?.health).toEqual(up), { timeout: 10_000 });
      // After the first beat with health, two full beats (on down, on up again); the beats between are light.
      const full = fullBeats(standIn);
      expect(full.slice(full.findIndex((beat) => beat.health !== undefined) + 1).map((beat) => beat.health?.status)).toEqual([
        'down',
        'up',
      ]);
      expect(
        standIn
          .beats()
          .slice(downAt, downAt + 2)
          .map((beat) => beat.kind),
      ).toEqual(['light', 'light']);
    },
    30_000,
  );

  it('sends no metrics with metrics.enable=false, and its health all the same', async () => {
    const standIn = await backend();
    const { stderr } = start('cjs', standIn, { VIGIL_METRICS_ENABLE: 'false' });
    await vi.waitFor(() => expect(standIn.beats().length, stderr()).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    expect(standIn.beats().some((beat) => 'metrics' in beat)).toBe(false);
    expect(fullBeats(standIn)[0]?.health).toEqual({ status: 'up', indicators: { app: { status: 'up' } } });
  }, 30_000);
});
