import { randomUUID } from 'node:crypto';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { EventRecord, Instance, InstanceStatus, PluginCommand } from '@vigil/protocol';
import type { Logger } from 'pino';
import type { EventsService } from '../events/events.service.js';
import type { InstanceRegistry, LeaseState } from '../instances/instance-registry.js';
import type { PluginCommandQueue } from '../instances/plugin-commands.js';
import type { FleetStore, StoreHealth } from './fleet-store.js';
import { connectRedis, type RedisClient, type RedisTarget } from './redis-connection.js';
import { CLAIM_SCRIPT, SYNC_SCRIPT, fleetKeys, type FleetKeys } from './redis-scripts.js';

/**
 * Deadlines are claimed this long after they pass: a beat taken just before its deadline by
 * another replica reaches Redis within one write-through (one lease tick) plus a round trip,
 * so a claim never races a renewal already taken. Expiry lag in redis mode is this plus up to
 * one tick.
 */
export const CLAIM_GRACE_MS = 50;

/** Most transitions one claim makes; the rest are due on the next tick (20 ms later). */
export const CLAIM_LIMIT = 5_000;

/** Most instances written by one sync script call: bounds how long one call holds Redis. */
export const SYNC_BATCH = 1_000;

/**
 * The change feed keeps about this much history (trimmed by age, not count, so its size follows
 * the write rate for ten seconds, never more). A mirror that was cut off longer reloads the fleet.
 */
export const FEED_RETAIN_MS = 10_000;

/** How long the boot waits for Redis before starting degraded (beats answered from memory). */
export const BOOT_WAIT_MS = 3_000;

export interface RedisFleetOptions {
  target: RedisTarget;
  prefix: string;
  eventsMax: number;
  /** Estimated bytes (two a character) of events waiting for Redis, at most (VIGIL_EVENTS_MAX_BYTES). */
  eventsMaxBytes: number;
  tickMs: number;
  stallThresholdMs: number;
  log: Logger;
}

/** A local change not yet written to Redis: u = the whole instance, b = its lease only, r = removed. */
type Pending = 'u' | 'b' | 'r';

/** The lease as stored in Redis (short keys: it is written on every beat). */
interface StoredLease {
  s: InstanceStatus;
  since: number;
  b: number;
  e: number;
  x: number;
  l: number;
  h: 0 | 1;
}

interface SyncOps {
  u: Array<[id: string, instance: string, lease: StoredLease, next: number | null]>;
  b: Array<[id: string, lease: StoredLease, next: number | null]>;
  r: string[];
  /** Instances whose pending plugin commands changed: the whole queue, or null when empty. */
  q?: Array<[id: string, commands: string | null]>;
}

type ClaimChange = { k: 'st'; id: string; s: InstanceStatus; since: number; e: number; h: 0 | 1 } | { k: 'rm'; id: string };

type FleetRedis = RedisClient & {
  vigilSync(...args: Array<string | number>): Promise<string[]>;
  vigilClaim(...args: Array<string | number>): Promise<[string, string]>;
};

type StreamEntry = [id: string, fields: string[]];

/**
 * The redis store: several replicas, one fleet. Every replica keeps the whole fleet in its
 * registry, so beats are answered from memory (no Redis round trip on the hot path) and REST
 * and dashboards on any replica see every instance. What a replica changes locally (beats,
 * registrations, goodbyes, its events) is written through to Redis every lease tick in one
 * script call and appended to a change feed the other replicas apply to their mirrors. Timed
 * transitions (suspect, lost, removed) are not fired by any replica's lease table: a claim
 * script over a deadline-sorted set makes each exactly once across replicas.
 *
 * While Redis cannot be reached, beats are still answered and kept (their writes wait), no
 * claim runs, so nothing expires; when it is back, the first claim extends every lease by the
 * gap, and the waiting writes go out. If Redis came back empty (its epoch marker is gone), the
 * replica writes its whole mirror back.
 */
export class RedisFleetStore implements FleetStore, OnModuleInit, OnModuleDestroy {
  /** Tags this replica's feed entries and events, so it skips its own when reading them back. */
  readonly replicaId = randomUUID().slice(0, 8);
  private readonly keys: FleetKeys;
  private readonly redis: FleetRedis;
  /** A second connection for the blocking feed read. */
  private readonly reader: RedisClient;
  private pending = new Map<string, Pending>();
  private pendingEvents: string[] = [];
  private pendingEventBytes = 0;
  /** Instances whose plugin command queue changed here and is not written yet. */
  private pendingCommands = new Set<string>();
  /** Set while applying what Redis or another replica decided, so it is not written back. */
  private applying = false;
  /** Reconciled with Redis since the last (re)connection: writes, claims and reads may run. */
  private synced = false;
  private resyncing = false;
  private epoch: string | null = null;
  private feedId = '0-0';
  private eventsId = '0-0';
  private flushing = false;
  private claiming = false;
  private stopped = false;
  private reading: Promise<void> | undefined;
  private unsubscribe: Array<() => void> = [];
  /** The last command failed (Redis down, hung or refusing): degraded until one succeeds. */
  private failing = false;
  private outageLogged = false;
  /** When this replica noticed it could not claim (its `store.unreachable` event); null while claims work. */
  private outageSince: number | null = null;
  private probing = false;

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly events: EventsService,
    private readonly commands: PluginCommandQueue,
    private readonly options: RedisFleetOptions,
  ) {
    this.keys = fleetKeys(options.prefix);
    // Fail fast while disconnected: the writes wait in `pending`, not in a client queue.
    this.redis = connectRedis(options.target, { commandTimeout: 2_000 }) as FleetRedis;
    this.redis.defineCommand('vigilSync', { numberOfKeys: 5, lua: SYNC_SCRIPT });
    this.redis.defineCommand('vigilClaim', { numberOfKeys: 7, lua: CLAIM_SCRIPT });
    this.reader = connectRedis(options.target, { commandTimeout: 5_000 });
    for (const client of [this.redis, this.reader]) client.on('error', (error: Error) => this.onRedisError(error));
    this.redis.on('close', () => {
      this.synced = false;
    });
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = [
      this.registry.onChange((change) => {
        if (this.applying) return;
        if (change.type === 'beat') {
          if (!this.pending.has(change.instanceId)) this.pending.set(change.instanceId, 'b');
        } else if (change.type === 'upsert') {
          this.pending.set(change.instance.instanceId, 'u');
        } else {
          this.pending.set(change.instanceId, 'r');
        }
      }),
      this.commands.onChange((instanceId) => {
        if (!this.applying) this.pendingCommands.add(instanceId);
      }),
      this.events.onEvent((event) => {
        if (this.applying) return;
        const { id: _id, ...rest } = event;
        const json = JSON.stringify(rest);
        this.pendingEvents.push(json);
        this.pendingEventBytes += json.length * 2;
        this.trimPendingEvents();
      }),
    ];
    this.reading = this.readLoop();
    // Boot with the fleet Redis has, when it answers soon; otherwise start degraded and catch up.
    const deadline = Date.now() + BOOT_WAIT_MS;
    while (!this.synced && Date.now() < deadline) {
      if (this.redis.status === 'ready') await this.resync();
      if (!this.synced) await sleep(50);
    }
    if (!this.synced) this.options.log.warn({ url: redactedUrl(this.options.target.url) }, 'Redis not reachable yet: serving from memory (degraded) until it is');
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    if (this.synced) await this.flush().catch(() => undefined);
    this.reader.disconnect();
    await this.reading;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  health(): StoreHealth {
    return { store: 'redis', connected: this.synced && !this.failing && this.redis.status === 'ready' };
  }

  tick(now: number): void {
    if (this.stopped) return;
    this.registry.settleSelfPreservation(now);
    if (!this.synced) {
      // Lost the connection after having had it (not a boot that waits for Redis).
      if (this.epoch !== null) this.noticeOutage(now, 'connection lost');
      if (this.redis.status === 'ready') void this.resync();
      return;
    }
    if (this.failing) {
      // A hung Redis still holds the connection open: every claim sent into it would time out,
      // then run when it wakes, each with its old time, each reporting a stall of one command
      // timeout (11 events for one 20 s hang). One cheap command asks instead; once it answers,
      // the next claim sees the whole gap since the last claim that ran and extends every lease
      // by it, with one `store.stall` event saying how long.
      void this.probe();
      return;
    }
    // Writes first, on the same connection: the claim sees this replica's beats of this tick.
    void this.flush();
    void this.claim(now);
  }

  /** Asks a Redis that failed whether it answers again. */
  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.redis.ping();
      this.recovered();
    } catch (error) {
      this.onRedisError(error as Error);
    } finally {
      this.probing = false;
    }
  }

  /**
   * Records once per outage that this replica cannot claim: nothing expires until Redis answers
   * again, and the first claim then (`store.stall`, from the claim script) says how long it was.
   */
  private noticeOutage(now: number, reason: string): void {
    if (this.outageSince !== null) return;
    this.outageSince = now;
    this.events.record({
      time: now,
      level: 'important',
      type: 'store.unreachable',
      origin: 'backend',
      message: `Redis does not answer (${reason}): beats are answered and kept in memory, nothing expires until it answers again`,
      attributes: { replica: this.replicaId, reason },
    });
  }

  /** After a (re)connection: loads the fleet on first contact, or writes it back if Redis lost it. */
  private async resync(): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      await this.redis.set(this.keys.epoch, randomUUID(), 'NX');
      const epoch = await this.redis.get(this.keys.epoch);
      if (this.epoch === null) {
        await this.loadSnapshot();
      } else if (epoch !== this.epoch) {
        this.options.log.warn({ instances: this.registry.size }, 'Redis came back without the fleet: writing this replica\'s view back');
        for (const { instanceId } of this.registry.list()) {
          this.pending.set(instanceId, 'u');
          if (this.commands.peek(instanceId)) this.pendingCommands.add(instanceId);
        }
        this.feedId = '0-0';
        this.eventsId = '0-0';
      } else if (await this.missedFeed()) {
        this.options.log.warn('cut off from Redis longer than the change feed keeps: reloading the fleet');
        await this.loadSnapshot();
      }
      this.epoch = epoch;
      this.synced = true;
      this.recovered();
    } catch (error) {
      this.onRedisError(error as Error);
    } finally {
      this.resyncing = false;
    }
  }

  private async loadSnapshot(): Promise<void> {
    // Feed positions first: a change made while the snapshot is read is applied again, never missed.
    const [feedId, eventsId] = await Promise.all([this.lastId(this.keys.feed), this.lastId(this.keys.events)]);
    const [instances, leases, commands] = await Promise.all([
      this.redis.hgetall(this.keys.inst),
      this.redis.hgetall(this.keys.lease),
      this.redis.hgetall(this.keys.cmds),
    ]);
    const recent = (await this.redis.xrevrange(this.keys.events, '+', '-', 'COUNT', this.options.eventsMax)) as StreamEntry[];
    this.applying = true;
    try {
      // What Redis no longer has went while this replica was cut off (unless it is this replica's own, not yet written).
      for (const instance of this.registry.list()) {
        if (!(instance.instanceId in instances) && !this.pending.has(instance.instanceId)) this.registry.applyRemoteRemove(instance.instanceId);
      }
      for (const [id, json] of Object.entries(instances)) {
        const instance = JSON.parse(json) as Instance;
        const lease = leases[id] ? (JSON.parse(leases[id]) as StoredLease) : undefined;
        this.registry.applyRemoteUpsert(lease ? { ...instance, status: lease.s, statusSince: lease.since, lastHeartbeatTime: lease.b } : instance);
        // Held by self-preservation when this replica starts: it shows the hold like the others.
        if (lease?.h === 1) this.registry.applyRemoteTransition(id, lease.s, lease.since, lease.e, true);
      }
      for (const [id, json] of Object.entries(commands)) this.commands.replace(id, JSON.parse(json) as PluginCommand[]);
      for (let i = recent.length - 1; i >= 0; i--) {
        const json = fieldOf(recent[i]![1], 'e');
        if (json) this.events.recordRemote(JSON.parse(json) as Omit<EventRecord, 'id'>);
      }
    } finally {
      this.applying = false;
    }
    this.feedId = feedId;
    this.eventsId = eventsId;
    if (this.registry.size > 0) this.options.log.info({ instances: this.registry.size }, 'fleet loaded from Redis');
  }

  /** True when changes this mirror has not applied were already trimmed from the feed. */
  private async missedFeed(): Promise<boolean> {
    const first = (await this.redis.xrange(this.keys.feed, '-', '+', 'COUNT', 1)) as StreamEntry[];
    return first[0] !== undefined && compareIds(first[0][0], this.feedId) > 0 && this.feedId !== '0-0';
  }

  private async lastId(stream: string): Promise<string> {
    const last = (await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as StreamEntry[];
    return last[0]?.[0] ?? '0-0';
  }

  /** Writes this replica's pending changes; on failure keeps them (merged with newer ones) for the next tick. */
  private async flush(): Promise<void> {
    if (this.flushing || (this.pending.size === 0 && this.pendingEvents.length === 0 && this.pendingCommands.size === 0)) return;
    this.flushing = true;
    const batch = this.pending;
    const events = this.pendingEvents;
    const commands = this.pendingCommands;
    this.pending = new Map();
    this.pendingEvents = [];
    this.pendingEventBytes = 0;
    this.pendingCommands = new Set();
    try {
      let ops = emptyOps();
      ops.q = [...commands].map((id) => {
        const queue = this.commands.peek(id);
        return [id, queue ? JSON.stringify(queue) : null];
      });
      let size = ops.q.length;
      for (const [id, kind] of batch) {
        this.addOp(ops, id, kind);
        if (++size === SYNC_BATCH) {
          await this.sync(ops, batch);
          ops = emptyOps();
          size = 0;
        }
      }
      if (size > 0) await this.sync(ops, batch);
      commands.clear();
      if (events.length > 0) {
        const pipeline = this.redis.pipeline();
        for (const json of events) pipeline.xadd(this.keys.events, 'MAXLEN', '~', this.options.eventsMax, '*', 'r', this.replicaId, 'e', json);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([error]) => error);
        if (failed) throw failed[0];
        events.length = 0;
      }
    } catch (error) {
      for (const [id, kind] of batch) {
        const newer = this.pending.get(id);
        if (newer === undefined || (newer === 'b' && kind === 'u')) this.pending.set(id, kind);
      }
      this.pendingEvents = events.concat(this.pendingEvents);
      this.pendingEventBytes = this.pendingEvents.reduce((sum, json) => sum + json.length * 2, 0);
      this.trimPendingEvents();
      for (const id of commands) this.pendingCommands.add(id);
      this.onRedisError(error as Error);
    } finally {
      this.flushing = false;
    }
  }

  /** While Redis is away, the events waiting for it are bounded like the event store: the oldest go. */
  private trimPendingEvents(): void {
    while (this.pendingEvents.length > this.options.eventsMax || this.pendingEventBytes > this.options.eventsMaxBytes) {
      this.pendingEventBytes -= this.pendingEvents.shift()!.length * 2;
    }
  }

  private addOp(ops: SyncOps, id: string, kind: Pending): void {
    const instance = this.registry.get(id);
    const lease = this.registry.leaseStateOf(id);
    if (kind === 'r' || !instance || !lease) {
      ops.r.push(id);
      return;
    }
    const stored = storedLease(lease);
    if (kind === 'u') ops.u.push([id, JSON.stringify(instance), stored, lease.next]);
    else ops.b.push([id, stored, lease.next]);
  }

  /** One sync call; the ids it wrote leave `batch`, so a failure later keeps only what was not written. */
  private async sync(ops: SyncOps, batch: Map<string, Pending>): Promise<void> {
    const { keys } = this;
    const unknown = await this.redis.vigilSync(keys.due, keys.lease, keys.inst, keys.feed, keys.cmds, JSON.stringify(ops), this.replicaId, feedMinId());
    for (const op of ops.u) batch.delete(op[0]);
    for (const op of ops.b) batch.delete(op[0]);
    for (const id of ops.r) batch.delete(id);
    if (unknown.length === 0) return;
    // Redis no longer has them: forget them here too, so their next beat re-registers them.
    this.applying = true;
    try {
      for (const id of unknown) this.registry.applyRemoteRemove(id);
    } finally {
      this.applying = false;
    }
  }

  /** Runs the claim; what it decided is applied here and logged as this replica's own events. */
  private async claim(now: number): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      const { keys, options } = this;
      const hold = this.registry.expiryLooksMassive(now) ? 1 : 0;
      const [changes, logged] = await this.redis.vigilClaim(
        keys.due, keys.lease, keys.inst, keys.feed, keys.events, keys.tick, keys.cmds,
        now, now - CLAIM_GRACE_MS, CLAIM_LIMIT, this.replicaId, hold, options.eventsMax, feedMinId(), options.stallThresholdMs, options.tickMs,
      );
      this.applying = true;
      try {
        this.applyClaimChanges(luaList<ClaimChange>(changes));
        for (const json of luaList<string>(logged)) this.events.record(JSON.parse(json) as Omit<EventRecord, 'id'>);
      } finally {
        this.applying = false;
      }
      this.recovered();
    } catch (error) {
      // Nothing was claimed, so nothing expired; once Redis answers again (`probe`), claims go on.
      this.noticeOutage(now, (error as Error).message);
      this.onRedisError(error as Error);
    } finally {
      this.claiming = false;
    }
  }

  private applyClaimChanges(changes: ClaimChange[]): void {
    for (const change of changes) {
      if (change.k === 'rm') this.registry.applyRemoteRemove(change.id);
      else this.registry.applyRemoteTransition(change.id, change.s, change.since, change.e, change.h === 1);
    }
  }

  /** Applies the other replicas' changes and events to this replica's mirror, as they come. */
  private async readLoop(): Promise<void> {
    const { keys } = this;
    while (!this.stopped) {
      if (!this.synced) {
        await sleep(50);
        continue;
      }
      try {
        const reply = (await this.reader.xread('COUNT', 1_000, 'BLOCK', 1_000, 'STREAMS', keys.feed, keys.events, this.feedId, this.eventsId)) as
          | Array<[stream: string, entries: StreamEntry[]]>
          | null;
        if (!reply || !this.synced) continue;
        this.applying = true;
        try {
          for (const [stream, entries] of reply) {
            for (const [id, fields] of entries) {
              if (stream === keys.feed) {
                this.feedId = id;
                this.applyFeedEntry(fields);
              } else {
                this.eventsId = id;
                const json = fieldOf(fields, 'r') === this.replicaId ? undefined : fieldOf(fields, 'e');
                if (json) this.events.recordRemote(JSON.parse(json) as Omit<EventRecord, 'id'>);
              }
            }
          }
        } finally {
          this.applying = false;
        }
      } catch (error) {
        if (!this.stopped) {
          this.onRedisError(error as Error);
          await sleep(200);
        }
      }
    }
  }

  private applyFeedEntry(fields: string[]): void {
    if (fieldOf(fields, 'r') === this.replicaId) return;
    const data = fieldOf(fields, 'd');
    if (data) {
      const ops = JSON.parse(data) as SyncOps;
      for (const [, json, lease] of ops.u) {
        this.registry.applyRemoteUpsert({ ...(JSON.parse(json) as Instance), status: lease.s, statusSince: lease.since, lastHeartbeatTime: lease.b });
      }
      for (const [id, lease] of ops.b) this.registry.applyRemoteBeat(id, lease.b);
      for (const id of ops.r) this.registry.applyRemoteRemove(id);
      for (const [id, json] of ops.q ?? []) this.commands.replace(id, json ? (JSON.parse(json) as PluginCommand[]) : undefined);
      return;
    }
    const changes = fieldOf(fields, 'c');
    if (changes) this.applyClaimChanges(luaList<ClaimChange>(changes));
  }

  private recovered(): void {
    this.failing = false;
    this.outageSince = null;
    if (this.outageLogged) this.options.log.info('Redis reachable again');
    this.outageLogged = false;
  }

  private onRedisError(error: Error): void {
    this.failing = true;
    if (this.stopped || this.outageLogged) return;
    this.outageLogged = true;
    this.options.log.error(
      { url: redactedUrl(this.options.target.url), reason: error.message },
      'Redis unreachable: beats are answered and kept in memory, nothing expires until it is back',
    );
  }
}

/** The oldest feed entry id worth keeping now. */
function feedMinId(): string {
  return `${Date.now() - FEED_RETAIN_MS}-0`;
}

/** Orders two stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

function storedLease(lease: LeaseState): StoredLease {
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

function emptyOps(): SyncOps {
  return { u: [], b: [], r: [] };
}

/** Lua's cjson encodes an empty table as `{}`: an empty list. */
function luaList<T>(json: string): T[] {
  const value = JSON.parse(json) as unknown;
  return Array.isArray(value) ? (value as T[]) : [];
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The URL (or URLs) without passwords, for logs. */
function redactedUrl(urls: string): string {
  return urls
    .split(',')
    .map((url) => {
      const parsed = new URL(url.trim());
      if (parsed.password) parsed.password = '***';
      return parsed.href;
    })
    .join(',');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
