import { randomUUID } from 'node:crypto';
import type { InstanceRegistry } from '../instances/instance-registry.js';
import type { ChangeFeedReader } from './change-feed.js';
import type { FleetLink, StreamEntry } from './fleet-link.js';
import type { FleetMirror } from './fleet-mirror.js';
import { STREAM_FIELD, decodeCommands, decodeInstance, decodeLease, fieldOf } from './redis-codec.js';
import type { RedisOutage } from './redis-outage.js';
import type { WriteThrough } from './write-through.js';

/**
 * Reconciles this replica with Redis after every (re)connection, before writes, claims and feed
 * reads run again: on first contact it loads the fleet; when Redis came back without it (its
 * epoch marker is gone) it writes this replica's view back; when it was cut off longer than the
 * feed keeps, it loads the fleet again.
 */
export class FleetResync {
  /** The epoch marker this replica last saw; null until first contact. */
  private epoch: string | null = null;
  private running = false;

  constructor(
    private readonly link: FleetLink,
    private readonly registry: InstanceRegistry,
    private readonly mirror: FleetMirror,
    private readonly writes: WriteThrough,
    private readonly feed: ChangeFeedReader,
    private readonly outage: RedisOutage,
  ) {}

  /** True once this replica has been reconciled with Redis at least once. */
  get hadContact(): boolean {
    return this.epoch !== null;
  }

  async resync(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { redis, keys, log } = this.link;
    try {
      await redis.set(keys.epoch, randomUUID(), 'NX');
      const epoch = await redis.get(keys.epoch);
      if (this.epoch === null) {
        await this.loadSnapshot();
      } else if (epoch !== this.epoch) {
        log.warn({ instances: this.registry.size }, "Redis came back without the fleet: writing this replica's view back");
        this.writes.rewriteAll();
        this.feed.rewind();
      } else if (await this.feed.missedChanges()) {
        log.warn('cut off from Redis longer than the change feed keeps: reloading the fleet');
        await this.loadSnapshot();
      }
      this.epoch = epoch;
      this.link.synced = true;
      this.outage.recovered();
    } catch (error) {
      this.outage.failed(error as Error);
    } finally {
      this.running = false;
    }
  }

  private async loadSnapshot(): Promise<void> {
    const { redis, keys, options, log } = this.link;
    // Feed positions first: a change made while the snapshot is read is applied again, never missed.
    const [feedId, eventsId] = await Promise.all([this.lastId(keys.feed), this.lastId(keys.events)]);
    const [instances, leases, commands] = await Promise.all([
      redis.hgetall(keys.inst),
      redis.hgetall(keys.lease),
      redis.hgetall(keys.cmds),
    ]);
    const recent = (await redis.xrevrange(keys.events, '+', '-', 'COUNT', options.eventsMax)) as StreamEntry[];
    this.mirror.applying = true;
    try {
      // What Redis no longer has went while this replica was cut off (unless it is this replica's own, not yet written).
      for (const instance of this.registry.list()) {
        if (!(instance.instanceId in instances) && !this.writes.isPending(instance.instanceId)) this.mirror.remove(instance.instanceId);
      }
      for (const [id, json] of Object.entries(instances)) {
        const lease = leases[id] ? decodeLease(leases[id]) : undefined;
        this.mirror.upsert(decodeInstance(json, lease));
        // Held by self-preservation when this replica starts: it shows the hold like the others.
        if (lease?.held) this.mirror.transition(id, lease.status, lease.statusSince, lease.leaseEnd, true);
      }
      for (const [id, json] of Object.entries(commands)) this.mirror.commands(id, decodeCommands(json));
      for (let i = recent.length - 1; i >= 0; i--) {
        const json = fieldOf(recent[i]![1], STREAM_FIELD.event);
        if (json) this.mirror.recordRemoteEvent(json);
      }
    } finally {
      this.mirror.applying = false;
    }
    this.feed.resumeFrom(feedId, eventsId);
    if (this.registry.size > 0) log.info({ instances: this.registry.size }, 'fleet loaded from Redis');
  }

  private async lastId(stream: string): Promise<string> {
    const last = (await this.link.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as StreamEntry[];
    return last[0]?.[0] ?? '0-0';
  }
}
