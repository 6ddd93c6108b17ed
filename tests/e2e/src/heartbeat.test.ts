import type { ClientToServerEvents, Delta, ServerToClientEvents, ViewRequest } from '@vigil/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startAgentApp, startBackend, waitFor, type Backend } from './harness.js';

const LOST_AFTER_MS = 1_500;
const INTERVAL_MS = 300;

describe('a heartbeat travelling end to end', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS) });
  });
  afterAll(() => killAll());

  for (const moduleSystem of ['esm', 'cjs'] as const) {
    it(`shows a ${moduleSystem} service started under the agent, with its plugin and ext-info, then lost once killed`, async () => {
      const app = startAgentApp({ moduleSystem, service: `e2e-${moduleSystem}`, backendUrl: backend.url, intervalMs: INTERVAL_MS });

      const seen = await waitFor(`the ${moduleSystem} instance in /api/v1/instances (app output: ${app.output()})`, async () => {
        const instance = await instanceOfPid(backend, app.pid);
        return instance?.plugins[0]?.extInfo.status === 'started' ? instance : undefined;
      });
      expect(seen).toMatchObject({
        service: `e2e-${moduleSystem}`,
        appName: 'e2e',
        status: 'healthy',
        processId: app.pid,
        plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
      });
      expect(seen.ip.length).toBeGreaterThan(0);
      expect(seen.hostName).not.toBe('');
      expect(app.stdout()).toBe('Good morning!\napp listening\n');

      // Beats keep the lease alive well past the lost timeout (an observation window).
      await new Promise((resolve) => setTimeout(resolve, LOST_AFTER_MS + 500));
      expect((await backend.instance(seen.instanceId))?.status).toBe('healthy');

      app.child.kill('SIGKILL');
      await app.exited;
      const lost = await waitFor('the instance to turn lost', async () => {
        const instance = await backend.instance(seen.instanceId);
        return instance?.status === 'lost' ? instance : undefined;
      });
      // Lost exactly one timeout after the last beat it received, not on a coarse scan.
      expect(lost.statusSince - lost.lastHeartbeatTime).toBe(LOST_AFTER_MS);
    });
  }

  it('answers a subscribe with a snapshot of the view, then pushes the instance entering it, its beats and its loss', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(backend.url, { transports: ['websocket'] });
    try {
      const view: ViewRequest = { window: { service: 'e2e-live', sort: 'service', offset: 0, limit: 50 }, watch: [] };
      const reply = await socket.emitWithAck('subscribe', view);
      expect(reply.ok).toBe(true);
      if (!reply.ok) return;
      expect(reply.snapshot.window).toEqual({ offset: 0, total: 0, instances: [] });
      expect(reply.snapshot.counts.byStatus).toHaveProperty('healthy');
      const deltas: Delta[] = [];
      socket.on('delta', (delta) => deltas.push(delta));

      const app = startAgentApp({ moduleSystem: 'esm', service: 'e2e-live', backendUrl: backend.url, intervalMs: INTERVAL_MS });
      const registered = await waitFor('a delta bringing the new instance into the window', () =>
        deltas.flatMap((d) => d.upserts).find((i) => i.processId === app.pid && i.status === 'healthy'),
      );
      expect(deltas.find((d) => d.window?.ids.includes(registered.instanceId))?.window?.total).toBe(1);
      expect(deltas.some((d) => d.services?.some((s) => s.service === 'e2e-live' && s.byStatus.healthy === 1))).toBe(true);
      await waitFor('a delta carrying a plain renewal', () => deltas.find((d) => registered.instanceId in d.beats));
      app.child.kill('SIGKILL');
      await waitFor('a delta carrying the lost status', () =>
        deltas.flatMap((d) => d.upserts).find((i) => i.instanceId === registered.instanceId && i.status === 'lost'),
      );
      await waitFor('the instance.lost event', () =>
        deltas.flatMap((d) => d.events).find((e) => e.type === 'instance.lost' && e.instanceId === registered.instanceId),
      );
    } finally {
      socket.close();
    }
  });

  it('refuses an invalid view, naming the field, and sends such a socket nothing', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(backend.url, { transports: ['websocket'] });
    try {
      const deltas: Delta[] = [];
      socket.on('delta', (delta) => deltas.push(delta));
      const reply = await socket.emitWithAck('subscribe', {
        window: { sort: 'pid', offset: 0, limit: 50 },
        watch: [],
      } as unknown as ViewRequest);
      expect(reply).toMatchObject({ ok: false, error: 'invalid view' });
      if (!reply.ok) expect(reply.issues[0]).toMatch(/^window\.sort: /);
      const app = startAgentApp({ moduleSystem: 'esm', service: 'e2e-unsubscribed', backendUrl: backend.url, intervalMs: INTERVAL_MS });
      await waitFor('the instance', () => instanceOfPid(backend, app.pid));
      // An observation window after the instance registered: no delta may come.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(deltas).toEqual([]);
      app.child.kill('SIGKILL');
    } finally {
      socket.close();
    }
  });

  it('answers a malformed beat with 400 naming the field', async () => {
    const response = await fetch(`${backend.url}/api/v1/heartbeat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, kind: 'light', instanceId: 'x', heartbeatTime: 'soon', lastHeartbeatTime: null }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid heartbeat',
      issues: ['heartbeatTime: Invalid input: expected number, received string'],
    });
  });
});
