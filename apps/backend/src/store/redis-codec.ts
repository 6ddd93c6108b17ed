import type { BeatMetrics, EventRecord, Instance, InstanceStatus, PluginCommand } from '@vigil/protocol';
import type { LeaseState } from '../instances/instance-registry.js';

/**
 * How the redis store's values look in Redis, the one place that knows (the scripts in
 * redis-scripts.ts read and write the same shapes). Leases and batches use one-letter keys on
 * the wire because one is written for every beat; everywhere else the store uses the readable
 * names below, converted here. Decoding hands values straight to a `FleetChangeHandler` rather
 * than building readable copies first: another replica's beats arrive here one by one, and a
 * copy each would be an allocation per beat.
 */

/** A lease in the `lease` hash and in batches: `{ s: status, since, b: last beat, e: lease end, x: removal time, l: lost-after ms, h: held 0|1 }`. */
interface WireLease {
  s: InstanceStatus;
  since: number;
  b: number;
  e: number;
  x: number;
  l: number;
  h: 0 | 1;
}

/**
 * The sync script's batch: `u` whole instances, `b` leases only (beats) with the instance's latest
 * metrics figures when it has some (METRIC_FIELDS order; the script ignores them, the other
 * replicas' mirrors take them from the feed), `r` removals, `q` plugin command queues.
 */
interface WireBatch {
  u: Array<[id: string, instance: string, lease: WireLease, next: number | null]>;
  b: Array<[id: string, lease: WireLease, next: number | null, metrics?: BeatMetrics]>;
  r: string[];
  q?: Array<[id: string, commands: string | null]>;
}

/** One change the claim script made: `st` a status transition, `rm` a removal. */
type WireClaimChange = { k: 'st'; id: string; s: InstanceStatus; since: number; e: number; h: 0 | 1 } | { k: 'rm'; id: string };

/** A lease read back from Redis (the `lease` hash), readable. */
export interface StoredLease {
  status: InstanceStatus;
  statusSince: number;
  lastBeat: number;
  leaseEnd: number;
  held: boolean;
}

/** What a replica does with changes decoded from Redis: apply them to its mirror. */
export interface FleetChangeHandler {
  upsert(instance: Instance): void;
  beat(instanceId: string, lastBeat: number, metrics?: BeatMetrics): void;
  remove(instanceId: string): void;
  /** The instance's pending plugin commands, as the writer left them (none: undefined). */
  commands(instanceId: string, queue: PluginCommand[] | undefined): void;
  transition(instanceId: string, status: InstanceStatus, since: number, leaseEnd: number, held: boolean): void;
}

/** Field names of the stream entries (`feed`, `events`). */
export const STREAM_FIELD = {
  /** The replica that wrote the entry, so it skips its own when reading them back. */
  replica: 'r',
  /** `events`: one event as JSON. */
  event: 'e',
  /** `feed`: a sync batch as JSON. */
  batch: 'd',
  /** `feed`: the claim script's changes as JSON. */
  claimed: 'c',
} as const;

/**
 * The change feed keeps about this much history (trimmed by age, not count, so its size follows
 * the write rate for ten seconds, never more). A mirror that was cut off longer reloads the fleet.
 */
export const FEED_RETAIN_MS = 10_000;

/** A batch of local changes for one sync script call, written in the wire shape as it is built. */
export class SyncBatch {
  private readonly ops: WireBatch = { u: [], b: [], r: [] };
  private count = 0;

  /** Instances plus command queues in the batch: what bounds one script call. */
  get size(): number {
    return this.count;
  }

  upsert(instanceId: string, instance: Instance, lease: LeaseState): void {
    this.ops.u.push([instanceId, JSON.stringify(instance), wireLease(lease), lease.next]);
    this.count++;
  }

  beat(instanceId: string, lease: LeaseState, metrics?: BeatMetrics): void {
    this.ops.b.push(metrics ? [instanceId, wireLease(lease), lease.next, metrics] : [instanceId, wireLease(lease), lease.next]);
    this.count++;
  }

  remove(instanceId: string): void {
    this.ops.r.push(instanceId);
    this.count++;
  }

  /** The instance's whole command queue as it is now; none (or empty) deletes it in Redis. */
  commands(instanceId: string, queue: readonly PluginCommand[] | undefined): void {
    (this.ops.q ??= []).push([instanceId, queue ? JSON.stringify(queue) : null]);
    this.count++;
  }

  /** Calls `visit` with the id of every instance written (not command queues). */
  forEachInstance(visit: (instanceId: string) => void): void {
    for (const op of this.ops.u) visit(op[0]);
    for (const op of this.ops.b) visit(op[0]);
    for (const id of this.ops.r) visit(id);
  }

  toJson(): string {
    return JSON.stringify(this.ops);
  }
}

function wireLease(lease: LeaseState): WireLease {
  return {
    s: lease.status,
    since: lease.statusSince,
    b: lease.lastBeat,
    e: lease.leaseEnd,
    x: lease.removeAt,
    l: lease.lostAfterMs,
    h: lease.held ? 1 : 0,
  };
}

/** Applies a sync batch another replica wrote (a `feed` entry's `d`). */
export function readSyncBatch(json: string, handler: FleetChangeHandler): void {
  const ops = JSON.parse(json) as WireBatch;
  for (const [, instance, lease] of ops.u) handler.upsert(instanceWithLease(instance, lease));
  for (const [id, lease, , metrics] of ops.b) handler.beat(id, lease.b, metrics);
  for (const id of ops.r) handler.remove(id);
  for (const [id, queue] of ops.q ?? []) handler.commands(id, queue ? decodeCommands(queue) : undefined);
}

/** Applies what a claim decided (the claim script's reply, or a `feed` entry's `c`). */
export function readClaimChanges(json: string, handler: FleetChangeHandler): void {
  for (const change of luaList<WireClaimChange>(json)) {
    if (change.k === 'rm') handler.remove(change.id);
    else handler.transition(change.id, change.s, change.since, change.e, change.h === 1);
  }
}

/** An instance from the `inst` hash, with its status and last beat from the lease when there is one. */
export function decodeInstance(json: string, lease: StoredLease | undefined): Instance {
  const instance = JSON.parse(json) as Instance;
  return lease ? { ...instance, status: lease.status, statusSince: lease.statusSince, lastHeartbeatTime: lease.lastBeat } : instance;
}

function instanceWithLease(json: string, lease: WireLease): Instance {
  return { ...(JSON.parse(json) as Instance), status: lease.s, statusSince: lease.since, lastHeartbeatTime: lease.b };
}

/** A value of the `lease` hash. */
export function decodeLease(json: string): StoredLease {
  const lease = JSON.parse(json) as WireLease;
  return { status: lease.s, statusSince: lease.since, lastBeat: lease.b, leaseEnd: lease.e, held: lease.h === 1 };
}

/** A value of the `cmds` hash. */
export function decodeCommands(json: string): PluginCommand[] {
  return JSON.parse(json) as PluginCommand[];
}

/** An event for the `events` stream: without its id, which each replica assigns its own. */
export function encodeEvent(event: EventRecord): string {
  const { id: _id, ...rest } = event;
  return JSON.stringify(rest);
}

export function decodeEvent(json: string): Omit<EventRecord, 'id'> {
  return JSON.parse(json) as Omit<EventRecord, 'id'>;
}

/** The claim script's list of logged events (JSON strings). */
export function decodeEventList(json: string): string[] {
  return luaList<string>(json);
}

/** Lua's cjson encodes an empty table as `{}`: an empty list. */
function luaList<T>(json: string): T[] {
  const value = JSON.parse(json) as unknown;
  return Array.isArray(value) ? (value as T[]) : [];
}

/** A field of a stream entry (`[name, value, name, value, ...]`). */
export function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * The oldest feed entry id worth keeping at `now` (`XADD MINID`). Entry ids are Redis's own
 * time; the replica's clock is taken to be close to it, and the trim is approximate anyway.
 */
export function feedMinId(now: number): string {
  return `${now - FEED_RETAIN_MS}-0`;
}

/** Orders two stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
