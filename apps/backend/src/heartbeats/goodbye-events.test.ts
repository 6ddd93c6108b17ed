import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { EventList } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';

/**
 * A goodbye carrying the agent's last events (docs/protocol.md, Goodbye): real routes through
 * Fastify (`app.inject`), as an agent on loopback sends them.
 */

const { start } = testApps('goodbye-events');

const now = Date.now();

function register(app: NestFastifyApplication, instanceId: string) {
  return app.inject({
    method: 'PUT',
    url: '/api/v1/heartbeat',
    payload: {
      v: 1,
      kind: 'full',
      instanceId,
      heartbeatTime: now,
      lastHeartbeatTime: null,
      service: 'orders',
      appName: 'orders',
      artifact: 'orders',
      appType: 'node',
      hostName: 'host-1',
      ip: ['10.0.0.1'],
      processId: 42,
      dynamicInstall: false,
      version: '0.1.0',
      plugins: [],
    },
  });
}

function goodbye(app: NestFastifyApplication, instanceId: string, extra: Record<string, unknown>) {
  return app.inject({
    method: 'PUT',
    url: '/api/v1/heartbeat',
    payload: { v: 1, kind: 'goodbye', instanceId, heartbeatTime: now + 10, lastHeartbeatTime: now, ...extra },
  });
}

async function eventsOf(app: NestFastifyApplication, instanceId: string) {
  const response = await app.inject({ method: 'GET', url: `/api/v1/events?instanceId=${instanceId}&limit=1000` });
  return (response.json() as EventList).events.reverse();
}

async function statusOf(app: NestFastifyApplication, instanceId: string) {
  return (await app.inject({ method: 'GET', url: `/api/v1/instances/${instanceId}` })).json().instance?.status;
}

const stopped = {
  time: now + 5,
  level: 'normal',
  type: 'agent.stopped',
  message: 'vigil agent stopped (SIGTERM)',
  attributes: { reason: 'SIGTERM' },
};

describe('a goodbye carrying the last events', () => {
  it('records them as the agent sent them, with the drop count, before the instance goes offline', async () => {
    const app = await start();
    expect((await register(app, 'i-1')).statusCode).toBe(200);
    const answer = await goodbye(app, 'i-1', { events: [stopped], dropped: 3 });
    expect(answer.json()).toMatchObject({ result: 'offline' });
    const events = await eventsOf(app, 'i-1');
    expect(events.map((event) => event.type)).toEqual(['instance.registered', 'agent.stopped', 'agent.events-dropped', 'instance.offline']);
    expect(events[1]).toMatchObject({
      origin: 'agent',
      message: 'vigil agent stopped (SIGTERM)',
      attributes: { reason: 'SIGTERM', agentTime: String(now + 5) },
    });
    expect(await statusOf(app, 'i-1')).toBe('offline');
  });

  it('still applies the goodbye when the client is past its event quota, without storing the events', async () => {
    const app = await start({ VIGIL_EVENT_BYTES_PER_SECOND: '1024' });
    await register(app, 'i-2');
    // Batches of wide events until the client's bucket has no room for even one (429).
    const wide = { ...stopped, type: 'test.wide', message: '中'.repeat(2048) };
    for (const size of [10, 1]) {
      let status = 202;
      for (let i = 0; i < 1000 && status === 202; i += 1) {
        const batch = await app.inject({
          method: 'POST',
          url: '/api/v1/events',
          payload: { v: 1, instanceId: 'i-2', events: Array(size).fill(wide), dropped: 0 },
        });
        status = batch.statusCode;
      }
      expect(status).toBe(429);
    }
    // Twice as wide as the last event refused, so more than what is left plus what the bucket
    // refills meanwhile (1 KiB/s, on a machine that may be slow).
    const lastWords = { ...stopped, message: '中'.repeat(4096) };
    expect((await goodbye(app, 'i-2', { events: [lastWords], dropped: 0 })).json()).toMatchObject({ result: 'offline' });
    const types = (await eventsOf(app, 'i-2')).map((event) => event.type);
    expect(types).not.toContain('agent.stopped');
    expect(types.at(-1)).toBe('instance.offline');
    expect(await statusOf(app, 'i-2')).toBe('offline');
  });

  it('refuses a goodbye with a malformed event with 400 naming it, and the instance stays as it was', async () => {
    const app = await start();
    await register(app, 'i-3');
    const refused = await goodbye(app, 'i-3', { events: [{ ...stopped, type: 'Not Dotted' }] });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().issues).toEqual([expect.stringMatching(/^events\.0\.type: /)]);
    expect(await statusOf(app, 'i-3')).toBe('healthy');
  });
});
