import { beforeEach, describe, expect, it } from 'vitest';
import type { InstanceRegistry, RegistryEvent } from './instance-registry.js';
import { fullBeat, lightBeat, LOST_AFTER, RegistryDriver, TICK } from './registry-fixtures.js';

describe('ExpiryGuard (through the registry): stalls and self-preservation', () => {
  let d: RegistryDriver;
  let registry: InstanceRegistry;
  let events: RegistryEvent[];
  const advanceTo = (t: number) => d.advanceTo(t);
  const beatEvery = (ids: string[], interval: number, from: number, to: number) => d.beatEvery(ids, interval, from, to);

  beforeEach(() => {
    d = new RegistryDriver();
    ({ registry, events } = d);
  });

  it('extends every lease by a stall of the backend instead of expiring the fleet', () => {
    beatEvery(['a', 'b'], 5_000, 0, 10_000);
    // The backend is frozen (SIGSTOP, a GC pause) for 30 s: no tick runs, no beat is read.
    d.clock += 30_000;
    registry.tick(d.clock);
    expect(registry.get('a')?.status).toBe('healthy');
    expect(events.at(-1)).toMatchObject({ type: 'backend.stall', attributes: { stallMs: String(30_000 - TICK) } });
    // The beats that queued up during the stall arrive now.
    registry.applyBeat(lightBeat('a'), d.clock);
    registry.applyBeat(lightBeat('b'), d.clock);
    expect(events.filter((e) => e.type === 'instance.lost')).toEqual([]);
  });

  it('counts no stall before its first tick: the time the backend takes to boot is not one', () => {
    // Built at 0; the app around it boots (modules, data dir, listen) for 3 s before the ticker starts.
    registry.tick(3_000);
    registry.tick(3_000 + TICK);
    expect(events.filter((e) => e.type === 'backend.stall')).toEqual([]);
  });

  it('still expires an instance that really stopped, one stall later than it would have', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    advanceTo(1_000);
    d.clock += 5_000;
    registry.tick(d.clock);
    advanceTo(LOST_AFTER + 5_000 - 2 * TICK);
    expect(registry.get('a')?.status).toBe('healthy');
    advanceTo(LOST_AFTER + 5_000);
    expect(registry.get('a')?.status).toBe('lost');
  });

  it('turns no instance suspect when its queued beats arrive in a burst after a stall of the backend', () => {
    const fleet = Array.from({ length: 5 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 1_000, 0, 10_000);
    // Frozen 20 s (SIGSTOP). On SIGCONT the beats queued meanwhile are read back to back, some
    // before the first tick notices the stall, the rest after it.
    d.clock += 20_000;
    for (let n = 0; n < 4; n++) registry.applyBeat(lightBeat('i-0'), d.clock + n);
    registry.tick(d.clock);
    for (const id of fleet.slice(1)) for (let n = 0; n < 4; n++) registry.applyBeat(lightBeat(id), d.clock + 5 + n);
    // The agents beat on their own schedule again, a little late after their wait.
    beatEvery(fleet, 1_000, d.clock + 1_300, d.clock + 10_000);
    expect(events.filter((e) => e.type === 'instance.suspect')).toEqual([]);
  });

  it('holds a mass expiry as suspect (self-preservation) and expires only after a further timeout', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 5_000, 0, 10_000);
    // Every beat stops at once (a network partition, say).
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.selfPreserving).toBe(true);
    expect(fleet.map((id) => registry.get(id)?.status)).toEqual(fleet.map(() => 'suspect'));
    expect(events.filter((e) => e.type === 'self-preservation.entered')).toHaveLength(1);
    expect(events.find((e) => e.type === 'self-preservation.entered')?.level).toBe('emergency');
    // Beats still absent a further timeout later: now they expire.
    advanceTo(10_000 + 2 * LOST_AFTER);
    expect(fleet.map((id) => registry.get(id)?.status)).toEqual(fleet.map(() => 'lost'));
  });

  it('leaves self-preservation when the fleet beats again', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 5_000, 0, 10_000);
    advanceTo(10_000 + LOST_AFTER + 1_000);
    expect(registry.selfPreserving).toBe(true);
    for (const id of fleet) registry.applyBeat(lightBeat(id), d.clock);
    advanceTo(d.clock + TICK);
    expect(registry.selfPreserving).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'self-preservation.left', level: 'important' });
    expect(events.filter((e) => e.type === 'instance.lost')).toEqual([]);
  });

  it('lets a single instance of a large healthy fleet go lost on time', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 5_000, 0, 10_000);
    beatEvery(fleet.slice(1), 5_000, 15_000, 10_000 + LOST_AFTER);
    expect(registry.get('i-0')).toMatchObject({ status: 'lost', statusSince: 10_000 + LOST_AFTER });
    expect(registry.selfPreserving).toBe(false);
  });

  it('lets every instance of a small fleet go lost on time', () => {
    beatEvery(['a', 'b'], 5_000, 0, 10_000);
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.get('a')?.status).toBe('lost');
    expect(registry.get('b')?.status).toBe('lost');
  });

  it('lets no instance with timings of its own tip the fleet into self-preservation (15 beats of one scoped token)', () => {
    const fleet = Array.from({ length: 10 }, (_, i) => `payments-${i}`);
    const attackers = Array.from({ length: 15 }, (_, i) => `orders-${i}`);
    const metadata = { 'preserved.heart.beat.interval': '100', 'preserved.heart.beat.timeout': String(30 * 86_400_000) };
    beatEvery(fleet, 5_000, 0, 10_000);
    // One beat each at 100 ms, then silence: suspect after 1.1 s, and (unclamped) for 30 days.
    for (let t = 10_000; t < 11_500; t += 100) {
      advanceTo(t);
      for (const id of attackers) registry.applyBeat(fullBeat({ instanceId: id, service: 'orders', metadata }), t);
    }
    // payments-0 really dies; the rest of payments beats on.
    beatEvery(fleet.slice(1), 5_000, 15_000, 10_000 + LOST_AFTER);
    expect(attackers.map((id) => registry.get(id)?.status)).toEqual(attackers.map(() => 'suspect'));
    expect(registry.get('payments-0')).toMatchObject({ status: 'lost', statusSince: 10_000 + LOST_AFTER });
    expect(registry.selfPreserving).toBe(false);
    expect(events.filter((e) => e.type === 'self-preservation.entered')).toEqual([]);
  });

  it('still holds the fleet when it falls silent at once, instances with timings of their own included', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    const metadata = { 'preserved.heart.beat.timeout': '20000' };
    beatEvery(fleet, 5_000, 0, 10_000);
    registry.applyBeat(fullBeat({ instanceId: 'own', metadata }), 10_000);
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.selfPreserving).toBe(true);
    advanceTo(10_000 + 20_000);
    expect(registry.get('own')?.status).toBe('suspect');
  });
});
