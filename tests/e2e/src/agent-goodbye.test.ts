import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startAgentApp, startBackend, startProcess, waitFor, type Backend, type Proc } from './harness.js';

const require = createRequire(import.meta.url);
const INTERVAL_MS = 500;

/**
 * Waits for the instance to show offline: only a goodbye does that (a lease running out shows
 * lost, and the backend's lost timeout is a minute).
 */
async function offline(backend: Backend, instanceId: string): Promise<void> {
  await waitFor(
    'the instance to show offline',
    async () => ((await backend.instance(instanceId))?.status === 'offline' ? true : undefined),
    15_000,
  );
}

async function healthyInstanceOf(backend: Backend, app: Proc & { pid: number }) {
  return waitFor(`the instance of pid ${app.pid} (app output: ${app.output()})`, async () => {
    const instance = await instanceOfPid(backend, app.pid);
    return instance?.status === 'healthy' && app.stdout().includes('listening') ? instance : undefined;
  });
}

describe('the agent says goodbye', () => {
  let backend: Backend;

  beforeAll(async () => {
    // A long lost timeout: only a goodbye can change the status within the test.
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '60000' });
  });
  afterAll(() => killAll());

  for (const moduleSystem of ['esm', 'cjs'] as const) {
    it(`shows a ${moduleSystem} service offline on SIGTERM, which still ends it as Node would`, async () => {
      const app = startAgentApp({ moduleSystem, service: `goodbye-${moduleSystem}`, backendUrl: backend.url, intervalMs: INTERVAL_MS });
      const instance = await healthyInstanceOf(backend, app);
      app.child.kill('SIGTERM');
      await offline(backend, instance.instanceId);
      expect(await app.exited).toBeNull();
      expect(app.child.signalCode).toBe('SIGTERM');
    });
  }

  it('shows a service that exits from its own SIGTERM handler offline, with its own exit code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-handler-'));
    mkdirSync(join(dir, 'vigil'));
    writeFileSync(
      join(dir, 'vigil', 'config.properties'),
      `service.name=goodbye-handler\nheartbeat.interval=${INTERVAL_MS}\nbackend.url=${backend.url}\nplugins=\n`,
    );
    writeFileSync(
      join(dir, 'app.mjs'),
      [
        "import { createServer } from 'node:http';",
        "createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => console.log('listening'));",
        // The common pattern: exit at once, synchronously, from the handler.
        "process.on('SIGTERM', () => process.exit(42));",
        '',
      ].join('\n'),
    );
    const proc = startProcess(process.execPath, ['--import', require.resolve('@vigil/agent/register'), 'app.mjs'], { cwd: dir });
    const app = { ...proc, pid: proc.child.pid ?? -1 };
    const instance = await healthyInstanceOf(backend, app);
    app.child.kill('SIGTERM');
    await offline(backend, instance.instanceId);
    expect(await app.exited).toBe(42);
    // The goodbye carried the agent's last event, with the reason, recorded before the instance went offline.
    const response = await fetch(`${backend.url}/api/v1/events?instanceId=${instance.instanceId}&limit=1000`);
    const events = ((await response.json()) as EventList).events.reverse();
    const stopped = events.findIndex((event) => event.type === 'agent.stopped');
    expect(events[stopped]).toMatchObject({ origin: 'agent', message: 'vigil agent stopped (SIGTERM)', attributes: { reason: 'SIGTERM' } });
    expect(events.findIndex((event) => event.type === 'instance.offline')).toBeGreaterThan(stopped);
  });
});
