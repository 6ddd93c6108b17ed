import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventRecord, FullBeat } from '@vigil/protocol';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../common/clock.js';
import type { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { PluginCommandQueue } from '../instances/plugin-commands.js';
import { fleetKeys } from './redis-scripts.js';
import { BOOT_WAIT_MS, RedisFleetStore } from './redis-fleet.js';

/** Tests that need Redis (127.0.0.1:6379 unless VIGIL_TEST_REDIS_URL): without it they fail, naming it; they never skip. */
const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const TICK_MS = 20;
const INTERVAL = 1_000;
const LOST_AFTER = 3_000;

/** A clock only the test moves. */
class TestClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
}

/** The event log as the store uses it: what it records, and its listeners. */
function eventLog() {
  const recorded: Array<Omit<EventRecord, 'id'>> = [];
  const service = {
    onEvent: () => () => undefined,
    record: (event: Omit<EventRecord, 'id'>) => recorded.push(event),
    recordRemote: (event: Omit<EventRecord, 'id'>) => recorded.push(event),
  } as unknown as EventsService;
  return { recorded, service };
}

function replica(url: string, prefix: string, clock: TestClock) {
  const registry = new InstanceRegistry(
    {
      timings: { intervalMs: INTERVAL, lostAfterMs: LOST_AFTER, removeAfterMs: 600_000 },
      suspectAfterIntervals: 2,
      tickMs: TICK_MS,
      stallThresholdMs: 1_000,
      selfPreservation: { minInstances: 1_000, ratio: 0.85 },
      historySize: 8,
    },
    clock.now(),
  );
  const events = eventLog();
  const store = new RedisFleetStore(registry, events.service, new PluginCommandQueue(), clock, {
    target: { url, cluster: false },
    prefix,
    eventsMax: 100,
    eventsMaxBytes: 1_000_000,
    tickMs: TICK_MS,
    stallThresholdMs: 1_000,
    log: pino({ level: 'silent' }),
  });
  return { registry, events, store };
}

function fullBeat(instanceId: string, time: number): FullBeat {
  return {
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: time,
    lastHeartbeatTime: null,
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: 'host-a',
    ip: ['10.0.0.5'],
    processId: 1,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [],
  };
}

describe('the redis store', () => {
  it('waits for Redis at boot by the injected clock, then starts degraded', async () => {
    const clock = new TestClock(1_000_000);
    // Nothing listens on port 1: every connection attempt is refused.
    const { store } = replica('redis://127.0.0.1:1', `vigil-test-${randomUUID()}`, clock);
    let booted = false;
    const boot = store.onModuleInit().then(() => {
      booted = true;
    });
    // Several boot retries (50 ms each) go by on the wall clock; the injected one has not moved.
    await sleep(300);
    expect(booted).toBe(false);
    clock.time += BOOT_WAIT_MS;
    await boot;
    expect(store.health()).toEqual({ store: 'redis', connected: false });
    await store.onModuleDestroy();
  });

  describe('with Redis', () => {
    const prefix = `vigil-test-${randomUUID()}`;
    const keys = fleetKeys(prefix);
    const redis = new Redis(REDIS_URL);
    // Starts at the wall-clock time only because feed entry ids are Redis's time (the trim point is compared with them); from there only the test moves it.
    const clock = new TestClock(Date.now());
    const a = replica(REDIS_URL, prefix, clock);
    const b = replica(REDIS_URL, prefix, clock);

    afterAll(async () => {
      await Promise.all([a.store.onModuleDestroy(), b.store.onModuleDestroy()]);
      await redis.del(...Object.values(keys));
      redis.disconnect();
    });

    /**
     * Lease ticks of replica A at the clock's time until its claim ran. A tick while the claim
     * before is still in flight (its reply not yet handled) claims nothing, so it ticks again.
     */
    const tickA = async () => {
      await expect
        .poll(() => {
          a.store.tick(clock.now());
          return redis.get(keys.tick);
        })
        .toBe(String(clock.now()));
    };

    it('writes a beat through to the other replica and expires it once, on the injected time', async () => {
      try {
        await redis.ping();
      } catch {
        throw new Error(
          `the redis store tests need Redis at ${REDIS_URL}, which does not answer (start redis-server, or set VIGIL_TEST_REDIS_URL)`,
        );
      }
      await Promise.all([a.store.onModuleInit(), b.store.onModuleInit()]);
      expect(a.store.health().connected).toBe(true);
      const start = clock.now();
      a.registry.applyBeat(fullBeat('i-1', start), start);
      await tickA();
      await expect.poll(() => b.registry.get('i-1')?.status).toBe('healthy');
      // Time moves only by the test: in steps under the stall threshold, a claim each step.
      while (clock.now() < start + LOST_AFTER + 200) {
        clock.time += 200;
        await tickA();
      }
      // The claim's reply may still be on its way to A when Redis already shows the claim ran.
      await expect.poll(() => a.registry.get('i-1')?.status).toBe('lost');
      await expect.poll(() => b.registry.get('i-1')?.status).toBe('lost');
      // Lost at the lease's end by the injected clock, whichever wall-clock time the claim ran at.
      expect(b.registry.get('i-1')?.statusSince).toBe(start + LOST_AFTER);
      // Once on each: A claimed it, B read it from the events stream.
      const lost = (log: Array<Omit<EventRecord, 'id'>>) => log.filter((event) => event.type === 'instance.lost');
      expect(lost(a.events.recorded)).toHaveLength(1);
      await expect.poll(() => lost(b.events.recorded)).toHaveLength(1);
    });

    it("carries a beat's health report and metrics to the other replica: unhealthy there too, its figures and their history", async () => {
      const start = clock.now();
      const health = { status: 'down', indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED' } } } } as const;
      a.registry.applyBeat({ ...fullBeat('i-2', start), health, metrics: [5, 1e8, 1e7, 4e9, 1, 2, 3, 0.1, 0, 10, 4] }, start);
      await tickA();
      await expect.poll(() => b.registry.get('i-2')?.status).toBe('unhealthy');
      expect(b.registry.get('i-2')?.health).toEqual(health);
      clock.time += 200;
      a.registry.applyBeat(
        {
          v: 1,
          kind: 'light',
          instanceId: 'i-2',
          heartbeatTime: 0,
          lastHeartbeatTime: 0,
          metrics: [77, 1e8, 1e7, 4e9, 1, 2, 3, 0.9, 0, 11, 4],
        },
        clock.now(),
      );
      await tickA();
      await expect.poll(() => b.registry.get('i-2')?.metrics?.cpu).toBe(77);
      expect(b.registry.get('i-2')?.metrics?.sampledAt).toBe(clock.now());
      expect(b.registry.get('i-2')?.status).toBe('unhealthy');
      expect(b.registry.metricsHistory('i-2', clock.now())?.at(-1)?.eventLoopUtilization).toBeCloseTo(0.9, 3);
    });
  });
});
