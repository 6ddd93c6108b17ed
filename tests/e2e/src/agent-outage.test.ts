import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, instanceOfPid, killAll, startBackendOnPort, startProcess, waitFor } from './harness.js';

const require = createRequire(import.meta.url);
const INTERVAL_MS = 1000;
/**
 * How long the backend stays down: 60 s in `npm test` (60 attempts at the 1 s interval; the
 * retries reach their steady wait within the first seconds, so a leak per attempt shows as well
 * as in five minutes, and CI stays under its 15 minutes on a slow machine);
 * `AGENT_OUTAGE_MS=300000` for the five minutes the reliability issue asks for (passed
 * 2026-12-03, see docs/reliability.md), `AGENT_OUTAGE_MS=5000` for a quick run.
 */
const OUTAGE_MS = Number(process.env.AGENT_OUTAGE_MS ?? 60_000);

interface Sample {
  at: number;
  heapUsed: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe('an agent whose backend is down', () => {
  afterAll(() => killAll());

  it(
    `keeps trying without growing, the service answering all along, and shows up once the backend starts (${OUTAGE_MS / 1000} s down)`,
    async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-outage-'));
      mkdirSync(join(dir, 'vigil'));
      writeFileSync(
        join(dir, 'vigil', 'config.properties'),
        `service.name=outage\nheartbeat.interval=${INTERVAL_MS}\nbackend.url=http://127.0.0.1:${port}\nplugins=\n`,
      );
      // The host reports its own memory after a full GC, so the figures are live objects, not garbage.
      writeFileSync(
        join(dir, 'app.mjs'),
        [
          "import { createServer } from 'node:http';",
          "const server = createServer((req, res) => res.end('ok'));",
          "server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));",
          'setInterval(() => {',
          '  globalThis.gc();',
          '  console.log(JSON.stringify({ at: Date.now(), heapUsed: process.memoryUsage().heapUsed }));',
          '}, 250);',
          '',
        ].join('\n'),
      );
      const app = startProcess(process.execPath, ['--expose-gc', '--import', require.resolve('@vigil/agent/register'), 'app.mjs'], {
        cwd: dir,
      });
      const samples = (): Sample[] =>
        app
          .stdout()
          .trim()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Sample);

      const startedAt = Date.now();
      // The service answers its own clients all along (how fast is bench:agent's figure); the
      // requests pace the outage, 200 ms apart.
      const hostPort = Number(await waitFor('the service to listen', () => /port=(\d+)/.exec(app.stdout())?.[1]));
      let answered = 0;
      while (Date.now() < startedAt + OUTAGE_MS) {
        expect(await (await fetch(`http://127.0.0.1:${hostPort}/`)).text()).toBe('ok');
        answered += 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(answered).toBeGreaterThan(0);
      const backend = await startBackendOnPort(port);
      const readyAt = Date.now();
      // Retries wait at most an interval (1 s; retryDelay's unit test): fifteen of them is room
      // for a busy machine, while a wait that kept doubling through the outage would be hours.
      const instance = await waitFor('the instance to appear', () => instanceOfPid(backend, app.child.pid ?? -1), 15 * INTERVAL_MS);

      expect(instance).toMatchObject({ service: 'outage', status: 'healthy' });
      // The first seconds warm up (modules, the quick first retries). After that, what still grows is
      // V8's compiled code, a few hundred KB that levels off (heap snapshots show no objects piling
      // up); anything the failed attempts left behind would come on top.
      const outage = samples().filter((sample) => sample.at > startedAt + 4000 && sample.at < readyAt);
      const early = median(outage.slice(0, 5).map((sample) => sample.heapUsed));
      const late = median(outage.slice(-5).map((sample) => sample.heapUsed));
      expect(outage.length).toBeGreaterThan(10);
      expect(late - early).toBeLessThan(1024 * 1024);
      expect(app.output()).not.toMatch(/MaxListenersExceeded|unhandled/i);
    },
    OUTAGE_MS + 60_000,
  );
});
