import { MAX_WATCHED_INSTANCES, type Delta, type EventRecord, type FullBeat, type LightBeat, type SubscribeReply } from '@vigil/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AccessHooks } from '../access/access.hooks.js';
import type { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { LEASE_TICK_MS, registryOptions } from '../instances/registry.module.js';
import { loadConfig } from '../config/vigil-config.js';
import { DELTA_FLUSH_MS, RealtimeGateway } from './realtime.gateway.js';

const LOST_AFTER = 1_000;

const fullBeat = (instanceId: string, time: number): FullBeat => ({
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
  processId: 4242,
  dynamicInstall: false,
  version: '0.1.0',
  plugins: [],
});

const lightBeat = (instanceId: string, time: number): LightBeat => ({
  v: 1,
  kind: 'light',
  instanceId,
  heartbeatTime: time,
  lastHeartbeatTime: time,
});

/**
 * The gateway with the real registry, batcher and view groups; only socket.io's transport is
 * replaced by a recorder of what each room would be sent, and time is vitest's fake clock, so
 * the moment of every push is exact.
 */
describe('RealtimeGateway pushes', () => {
  let registry: InstanceRegistry;
  let gateway: RealtimeGateway;
  let pushes: Array<{ at: number; room: string; delta: Delta }>;
  let start: number;
  /** Records an event as the event log would report it to the gateway. */
  let record: (event: EventRecord) => void;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
    start = Date.now();
    const config = loadConfig({ VIGIL_LOST_AFTER_MS: String(LOST_AFTER) });
    registry = new InstanceRegistry(registryOptions(config), Date.now());
    const events = {
      onEvent: (listener: (event: EventRecord) => void) => {
        record = listener;
        return () => undefined;
      },
    } as unknown as EventsService;
    // The access hooks only guard socket.io's handshake (afterInit), which this test does not reach.
    gateway = new RealtimeGateway(registry, events, { now: () => Date.now() }, {} as AccessHooks);
    pushes = [];
    const room = (name: string) => ({
      except: () => room(name),
      emit: (_event: 'delta', delta: Delta) => pushes.push({ at: Date.now() - start, room: name, delta }),
    });
    Object.assign(gateway, { server: { to: room } });
    gateway.onModuleInit();
    // The periodic push and the lease tick, as @nestjs/schedule runs them.
    setInterval(() => gateway.flush(), DELTA_FLUSH_MS);
    setInterval(() => registry.tick(Date.now()), LEASE_TICK_MS);
  });

  afterEach(() => {
    gateway.onModuleDestroy();
    vi.useRealTimers();
  });

  /** A dashboard socket watching `ids` (the detail view); returns the room its deltas go to. */
  function watch(ids: string[]): string {
    const handlers: Record<string, (view: unknown, ack: (reply: SubscribeReply) => void) => void> = {};
    const joined: string[] = [];
    const socket = {
      data: {},
      on: (event: string, handler: (typeof handlers)[string]) => (handlers[event] = handler),
      join: (name: string) => joined.push(name),
      leave: () => undefined,
    };
    gateway.handleConnection(socket as never);
    let reply: SubscribeReply | undefined;
    handlers.subscribe?.({ window: null, watch: ids }, (r) => (reply = r));
    expect(reply?.ok).toBe(true);
    const group = joined.find((name) => name !== 'subscribed');
    if (!group) throw new Error('the socket joined no view group');
    return group;
  }

  const watchedPushes = (room: string) => pushes.filter((push) => push.room === room);

  it('pushes a loss on the next lease tick, not at the next 200 ms period', () => {
    registry.applyBeat(fullBeat('i-1', Date.now()), Date.now());
    const room = watch(['i-1']);
    vi.advanceTimersByTime(DELTA_FLUSH_MS);
    pushes = [];

    // Beat on until just after a periodic push, then stop: the deadline falls mid-period.
    const lastBeat = 5 * DELTA_FLUSH_MS + 30;
    while (Date.now() - start < lastBeat) {
      registry.applyBeat(lightBeat('i-1', Date.now()), Date.now());
      vi.advanceTimersByTime(10);
    }
    const deadline = Date.now() - 10 + LOST_AFTER;
    vi.advanceTimersByTime(LOST_AFTER + DELTA_FLUSH_MS);

    const lost = watchedPushes(room).find((push) => push.delta.upserts.some((i) => i.instanceId === 'i-1' && i.status === 'lost'));
    expect(lost).toBeDefined();
    // Within a slot and two ticks of the deadline, where the 200 ms period alone would allow up to 200 ms.
    expect((lost?.at ?? Infinity) + start - deadline).toBeLessThanOrEqual(10 + 2 * LEASE_TICK_MS);
    expect(lost?.delta.counts?.byStatus.lost).toBe(1);
  });

  it('brings the status forward, and leaves the events of the change to the periodic push', () => {
    registry.applyBeat(fullBeat('i-1', Date.now()), Date.now());
    const room = watch(['i-1']);
    vi.advanceTimersByTime(DELTA_FLUSH_MS);
    pushes = [];
    // Mid-period: a goodbye (offline) and the event the log records for it.
    vi.advanceTimersByTime(DELTA_FLUSH_MS / 2);
    registry.applyBeat({ v: 1, kind: 'goodbye', instanceId: 'i-1', heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() }, Date.now());
    record({
      id: '1',
      time: Date.now(),
      level: 'normal',
      type: 'instance.offline',
      message: 'goodbye',
      attributes: {},
    } as unknown as EventRecord);
    vi.advanceTimersByTime(DELTA_FLUSH_MS);
    const [early, ...later] = watchedPushes(room);
    expect(early?.at).toBeLessThanOrEqual(1.5 * DELTA_FLUSH_MS + LEASE_TICK_MS);
    expect(early?.delta.upserts.map((i) => i.status)).toEqual(['offline']);
    expect(early?.delta.events).toEqual([]);
    expect(later).toEqual([]);
    // The next periodic push carries the event, to every subscribed socket (the view has nothing new).
    const periodic = pushes.filter((push) => push.room === 'subscribed' && push.delta.events.length > 0);
    expect(periodic.map((push) => push.at)).toEqual([2 * DELTA_FLUSH_MS]);
    expect(periodic[0]?.delta.events.map((e) => e.type)).toEqual(['instance.offline']);
  });

  it('keeps beat times to the 200 ms period: a beat alone never brings a push forward', () => {
    registry.applyBeat(fullBeat('i-1', Date.now()), Date.now());
    const room = watch(['i-1']);
    vi.advanceTimersByTime(DELTA_FLUSH_MS);
    pushes = [];
    for (let i = 0; i < 40; i += 1) {
      registry.applyBeat(lightBeat('i-1', Date.now()), Date.now());
      vi.advanceTimersByTime(25);
    }
    const times = watchedPushes(room).map((push) => push.at % DELTA_FLUSH_MS);
    expect(times.length).toBe(5);
    expect(new Set(times)).toEqual(new Set([0]));
    for (const push of watchedPushes(room)) expect(push.delta.beats['i-1']).toBeTypeOf('number');
  });

  it('sends the transitions of one tick together, and at most one early push per tick in a storm of registrations', () => {
    const room = watch(Array.from({ length: MAX_WATCHED_INSTANCES }, (_, i) => `i-${i}`));
    vi.advanceTimersByTime(DELTA_FLUSH_MS);
    pushes = [];
    // Watched instances register 1 ms apart: every one is a status change.
    for (let i = 0; i < MAX_WATCHED_INSTANCES; i += 1) {
      registry.applyBeat(fullBeat(`i-${i}`, Date.now()), Date.now());
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(LEASE_TICK_MS);
    const early = watchedPushes(room);
    const gaps = early.slice(1).map((push, i) => push.at - (early[i]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(LEASE_TICK_MS);
    const seen = new Set(early.flatMap((push) => push.delta.upserts.map((i) => i.instanceId)));
    expect(seen.size).toBe(MAX_WATCHED_INSTANCES);
    expect(early.length).toBeLessThanOrEqual(Math.ceil(MAX_WATCHED_INSTANCES / LEASE_TICK_MS) + 1);
  });
});
