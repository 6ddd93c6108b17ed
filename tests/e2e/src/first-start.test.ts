import type { EventList } from '@vigil/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { demoDir, freePort, killAll, startBackendOnPort, startProcess, waitFor } from './harness.js';

describe('the first start, as `npm start` does it', () => {
  afterAll(() => killAll());

  it('shows the demo on a backend at a non-default VIGIL_PORT, with no warning and no important event', async () => {
    const port = await freePort();
    // What the repo's `npm start` runs, in the order it runs them: the demo's `npm start` and the
    // backend side by side, the demo a little ahead, both with the user's VIGIL_PORT.
    const demo = startProcess('npm', ['start', '--silent'], { cwd: demoDir, env: { VIGIL_PORT: String(port), PORT: '0' }, group: true });
    const backend = await startBackendOnPort(port);

    const instance = await waitFor(
      `the demo on the backend at :${port} (demo output: ${demo.output()})`,
      async () => (await backend.instances()).instances.find((i) => i.service === 'demo-service' && i.status === 'healthy'),
      20_000,
    );
    // Everything the agent recorded at start-up travels in its first batch, with agent.started;
    // the backend's own events (a boot taken for a stall, say) are on the same list.
    const events = await waitFor('the agent start-up events', async () => {
      const list = (await (await fetch(`${backend.url}/api/v1/events?limit=100`)).json()) as EventList;
      return list.events.some((event) => event.type === 'agent.started' && event.instanceId === instance.instanceId)
        ? list.events
        : undefined;
    });
    expect(events.filter((event) => event.level !== 'normal')).toEqual([]);
    // The agent logs JSON lines; level 40 is a warning, 50 and up errors.
    expect(demo.output()).not.toMatch(/"level":(4|5|6)0/);

    // Ctrl-C signals the terminal's whole process group: the demo stops, and its agent says goodbye.
    process.kill(-(demo.child.pid ?? NaN), 'SIGINT');
    await demo.exited;
    await waitFor('the demo to say goodbye', async () =>
      (await backend.instance(instance.instanceId))?.status === 'offline' ? true : undefined,
    );
  });
});
