import type { Instance } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import type { LeaseState } from '../instances/instance-registry.js';
import {
  SyncBatch,
  compareStreamIds,
  decodeInstance,
  decodeLease,
  feedMinId,
  readClaimChanges,
  readSyncBatch,
  type FleetChangeHandler,
} from './redis-codec.js';

const lease: LeaseState = {
  status: 'healthy',
  statusSince: 100,
  lastBeat: 900,
  next: 2_900,
  leaseEnd: 3_900,
  removeAt: 600_900,
  lostAfterMs: 3_000,
  held: false,
};

const instance = { instanceId: 'i-1', service: 'orders', status: 'healthy', statusSince: 0, lastHeartbeatTime: 0 } as Instance;

/** Every call a decoder makes, in order. */
function recorder(): { calls: unknown[][]; handler: FleetChangeHandler } {
  const calls: unknown[][] = [];
  const handler: FleetChangeHandler = {
    upsert: (value) => calls.push(['upsert', value]),
    beat: (id, lastBeat, metrics) => calls.push(metrics ? ['beat', id, lastBeat, metrics] : ['beat', id, lastBeat]),
    remove: (id) => calls.push(['remove', id]),
    commands: (id, queue) => calls.push(['commands', id, queue]),
    transition: (id, status, since, leaseEnd, held) => calls.push(['transition', id, status, since, leaseEnd, held]),
  };
  return { calls, handler };
}

describe('the redis store codec', () => {
  it('writes a batch in the wire shape the sync script reads (one-letter keys)', () => {
    const batch = new SyncBatch();
    batch.upsert('i-1', instance, lease);
    batch.beat('i-2', { ...lease, held: true, next: null });
    batch.remove('i-3');
    batch.commands('i-1', [{ id: 'c-1', type: 'plugin.disable', plugin: 'p' }]);
    batch.commands('i-4', undefined);
    expect(batch.size).toBe(5);
    const wireLease = { s: 'healthy', since: 100, b: 900, e: 3_900, x: 600_900, l: 3_000, h: 0 };
    expect(JSON.parse(batch.toJson())).toEqual({
      u: [['i-1', JSON.stringify(instance), wireLease, 2_900]],
      b: [['i-2', { ...wireLease, h: 1 }, null]],
      r: ['i-3'],
      q: [
        ['i-1', '[{"id":"c-1","type":"plugin.disable","plugin":"p"}]'],
        ['i-4', null],
      ],
    });
    const ids: string[] = [];
    batch.forEachInstance((id) => ids.push(id));
    expect(ids).toEqual(['i-1', 'i-2', 'i-3']);
  });

  it('reads a batch back as readable changes', () => {
    const batch = new SyncBatch();
    batch.upsert('i-1', instance, { ...lease, status: 'suspect', statusSince: 800 });
    batch.beat('i-2', lease);
    batch.remove('i-3');
    batch.commands('i-4', undefined);
    const { calls, handler } = recorder();
    readSyncBatch(batch.toJson(), handler);
    expect(calls).toEqual([
      ['upsert', { ...instance, status: 'suspect', statusSince: 800, lastHeartbeatTime: 900 }],
      ['beat', 'i-2', 900],
      ['remove', 'i-3'],
      ['commands', 'i-4', undefined],
    ]);
  });

  it("carries a beat's metrics figures to the other replicas beside its lease (the sync script ignores them)", () => {
    const figures = [12.5, 1e8, 2e7, 4e9, 0.4, 3, 9, 0.2, 1, 60, 7];
    const batch = new SyncBatch();
    batch.beat('i-1', lease, figures);
    batch.beat('i-2', lease);
    expect(JSON.parse(batch.toJson()).b[0]).toEqual([
      'i-1',
      { s: 'healthy', since: 100, b: 900, e: 3_900, x: 600_900, l: 3_000, h: 0 },
      2_900,
      figures,
    ]);
    const { calls, handler } = recorder();
    readSyncBatch(batch.toJson(), handler);
    expect(calls).toEqual([
      ['beat', 'i-1', 900, figures],
      ['beat', 'i-2', 900],
    ]);
  });

  it('reads the claim script changes, and its empty list as cjson writes it (`{}`)', () => {
    const { calls, handler } = recorder();
    readClaimChanges(
      JSON.stringify([
        { k: 'st', id: 'i-1', s: 'lost', since: 5, e: 5, h: 0 },
        { k: 'rm', id: 'i-2' },
      ]),
      handler,
    );
    readClaimChanges('{}', handler);
    expect(calls).toEqual([
      ['transition', 'i-1', 'lost', 5, 5, false],
      ['remove', 'i-2'],
    ]);
  });

  it('reads a stored lease and applies it to its instance', () => {
    const stored = decodeLease(JSON.stringify({ s: 'suspect', since: 10, b: 20, e: 30, x: 40, l: 50, h: 1 }));
    expect(stored).toEqual({ status: 'suspect', statusSince: 10, lastBeat: 20, leaseEnd: 30, held: true });
    expect(decodeInstance(JSON.stringify(instance), stored)).toEqual({
      ...instance,
      status: 'suspect',
      statusSince: 10,
      lastHeartbeatTime: 20,
    });
    expect(decodeInstance(JSON.stringify(instance), undefined)).toEqual(instance);
  });

  it('keeps the feed by the given time, and orders stream ids by time, then sequence', () => {
    expect(feedMinId(50_000)).toBe('40000-0');
    expect(compareStreamIds('5-1', '5-0')).toBeGreaterThan(0);
    expect(compareStreamIds('4-9', '5-0')).toBeLessThan(0);
    expect(compareStreamIds('5-0', '5-0')).toBe(0);
  });
});
