import type { EventList } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startAgentApp, startBackend, waitFor, type AgentApp, type Backend } from './harness.js';

const LOST_AFTER_MS = 1_500;
const INTERVAL_MS = 300;
/** The pause the reliability issue names: 30 s, twenty lost timeouts. */
const FROZEN_MS = 30_000;

describe('faults the backend survives', () => {
  let backend: Backend;
  let apps: AgentApp[];

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS) });
    apps = ['a', 'b', 'c'].map((name) =>
      startAgentApp({ moduleSystem: 'esm', service: `fault-${name}`, backendUrl: backend.url, intervalMs: INTERVAL_MS }),
    );
    for (const app of apps) {
      await waitFor(`instance of ${app.pid}`, async () =>
        (await instanceOfPid(backend, app.pid))?.status === 'healthy' ? true : undefined,
      );
    }
  });
  afterAll(() => killAll());

  it(
    'marks no instance lost because the backend itself was frozen (SIGSTOP) for 30 s, twenty lost timeouts',
    async () => {
      backend.child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, FROZEN_MS));
      backend.child.kill('SIGCONT');
      // Awake once it has recorded the stall; then an observation window well past every old deadline.
      await waitFor(
        'the backend.stall event',
        async () => {
          const stalls = (await (await fetch(`${backend.url}/api/v1/events?type=backend.stall`)).json()) as EventList;
          return stalls.total > 0 ? true : undefined;
        },
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 2 * LOST_AFTER_MS));
      const lost = (await (await fetch(`${backend.url}/api/v1/events?type=instance.lost`)).json()) as EventList;
      expect(lost.events).toEqual([]);
      for (const app of apps) expect((await instanceOfPid(backend, app.pid))?.status).toBe('healthy');
      const stalls = (await (await fetch(`${backend.url}/api/v1/events?type=backend.stall`)).json()) as EventList;
      expect(stalls.total).toBeGreaterThanOrEqual(1);
      expect(Number(stalls.events[0]?.attributes.stallMs)).toBeGreaterThanOrEqual(FROZEN_MS - 500);
    },
    FROZEN_MS + 60_000,
  );
});
