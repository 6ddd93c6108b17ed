import type { EventRecord } from '@vigil/protocol';
import { figuresOf } from '../health/metrics-table.js';
import type { InstanceRegistry, RegistryChange } from '../instances/instance-registry.js';
import type { PluginCommandQueue } from '../instances/plugin-commands.js';
import type { FleetLink } from './fleet-link.js';
import type { FleetMirror } from './fleet-mirror.js';
import { SyncBatch, encodeEvent, feedMinId, STREAM_FIELD } from './redis-codec.js';
import type { RedisOutage } from './redis-outage.js';

/** Most instances written by one sync script call: bounds how long one call holds Redis. */
export const SYNC_BATCH = 1_000;

/** A local change not yet written to Redis: the whole instance, its lease only (a beat), or its removal. */
type Pending = 'instance' | 'lease' | 'removed';

/**
 * Writes what this replica changes (beats, registrations, goodbyes, plugin command queues, its
 * events) through to Redis once per lease tick: changes are only noted as they happen (a beat
 * costs one map entry, no Redis round trip), and `flush` writes them in sync script calls of
 * at most SYNC_BATCH instances, which also append them to the change feed. What a failed flush
 * did not write waits for the next, merged with newer changes.
 */
export class WriteThrough {
  private pending = new Map<string, Pending>();
  private pendingEvents: string[] = [];
  private pendingEventBytes = 0;
  /** Instances whose plugin command queue changed here and is not written yet. */
  private pendingCommands = new Set<string>();
  private flushing = false;
  /** The flush running now, if any (a shutdown waits for it, then writes what it did not take). */
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly link: FleetLink,
    private readonly registry: InstanceRegistry,
    private readonly commandQueue: PluginCommandQueue,
    private readonly mirror: FleetMirror,
    private readonly outage: RedisOutage,
  ) {}

  /** A registry change: on the path of every beat, so it only notes the instance. */
  noteChange(change: RegistryChange): void {
    if (this.mirror.applying) return;
    if (change.type === 'beat') {
      // A beat does not downgrade a pending whole-instance write.
      if (!this.pending.has(change.instanceId)) this.pending.set(change.instanceId, 'lease');
    } else if (change.type === 'upsert') {
      this.pending.set(change.instance.instanceId, 'instance');
    } else {
      this.pending.set(change.instanceId, 'removed');
    }
  }

  noteCommands(instanceId: string): void {
    if (!this.mirror.applying) this.pendingCommands.add(instanceId);
  }

  noteEvent(event: EventRecord): void {
    if (this.mirror.applying) return;
    const json = encodeEvent(event);
    this.pendingEvents.push(json);
    this.pendingEventBytes += json.length * 2;
    this.trimPendingEvents();
  }

  /** True while a local change to the instance waits to be written (a snapshot must not undo it). */
  isPending(instanceId: string): boolean {
    return this.pending.has(instanceId);
  }

  /** Redis lost the fleet: this replica's whole mirror is written back, as if every instance had just changed. */
  rewriteAll(): void {
    for (const { instanceId } of this.registry.list()) {
      this.pending.set(instanceId, 'instance');
      if (this.commandQueue.peek(instanceId)) this.pendingCommands.add(instanceId);
    }
  }

  /**
   * At shutdown: waits for the flush running now, then writes what is still pending (a change
   * noted while that flush ran, a command queued just before the replica stops, is not left behind).
   */
  async drain(now: number): Promise<void> {
    while (this.inFlight) await this.inFlight;
    await this.flush(now);
  }

  /** Writes this replica's pending changes; on failure keeps them (merged with newer ones) for the next tick. */
  flush(now: number): Promise<void> {
    if (this.flushing || (this.pending.size === 0 && this.pendingEvents.length === 0 && this.pendingCommands.size === 0)) {
      return Promise.resolve();
    }
    const run = this.write(now).finally(() => {
      this.inFlight = null;
    });
    this.inFlight = run;
    return run;
  }

  private async write(now: number): Promise<void> {
    this.flushing = true;
    const changes = this.pending;
    const events = this.pendingEvents;
    const commands = this.pendingCommands;
    this.pending = new Map();
    this.pendingEvents = [];
    this.pendingEventBytes = 0;
    this.pendingCommands = new Set();
    try {
      let batch = new SyncBatch();
      for (const id of commands) batch.commands(id, this.commandQueue.peek(id));
      for (const [id, kind] of changes) {
        this.add(batch, id, kind);
        if (batch.size >= SYNC_BATCH) {
          await this.sync(batch, changes, now);
          batch = new SyncBatch();
        }
      }
      if (batch.size > 0) await this.sync(batch, changes, now);
      commands.clear();
      if (events.length > 0) {
        const pipeline = this.link.redis.pipeline();
        const { replicaId, keys, options } = this.link;
        for (const json of events)
          pipeline.xadd(keys.events, 'MAXLEN', '~', options.eventsMax, '*', STREAM_FIELD.replica, replicaId, STREAM_FIELD.event, json);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([error]) => error);
        if (failed) throw failed[0];
        events.length = 0;
      }
    } catch (error) {
      for (const [id, kind] of changes) {
        const newer = this.pending.get(id);
        if (newer === undefined || (newer === 'lease' && kind === 'instance')) this.pending.set(id, kind);
      }
      this.pendingEvents = events.concat(this.pendingEvents);
      this.pendingEventBytes = this.pendingEvents.reduce((sum, json) => sum + json.length * 2, 0);
      this.trimPendingEvents();
      for (const id of commands) this.pendingCommands.add(id);
      this.outage.failed(error as Error);
    } finally {
      this.flushing = false;
    }
  }

  /** While Redis is away, the events waiting for it are bounded like the event store: the oldest go. */
  private trimPendingEvents(): void {
    const { eventsMax, eventsMaxBytes } = this.link.options;
    while (this.pendingEvents.length > eventsMax || this.pendingEventBytes > eventsMaxBytes) {
      this.pendingEventBytes -= this.pendingEvents.shift()!.length * 2;
    }
  }

  private add(batch: SyncBatch, id: string, kind: Pending): void {
    const instance = this.registry.get(id);
    const lease = this.registry.leaseStateOf(id);
    if (kind === 'removed' || !instance || !lease) batch.remove(id);
    else if (kind === 'instance') batch.upsert(id, instance, lease);
    else batch.beat(id, lease, instance.metrics && instance.metrics.sampledAt === lease.lastBeat ? figuresOf(instance.metrics) : undefined);
  }

  /** One sync call; the ids it wrote leave `changes`, so a failure later keeps only what was not written. */
  private async sync(batch: SyncBatch, changes: Map<string, Pending>, now: number): Promise<void> {
    const { redis, keys, replicaId } = this.link;
    const unknown = await redis.vigilSync(keys.due, keys.lease, keys.inst, keys.feed, keys.cmds, batch.toJson(), replicaId, feedMinId(now));
    batch.forEachInstance((id) => changes.delete(id));
    if (unknown.length === 0) return;
    // Redis no longer has them: forget them here too, so their next beat re-registers them.
    this.mirror.applying = true;
    try {
      for (const id of unknown) this.mirror.remove(id);
    } finally {
      this.mirror.applying = false;
    }
  }
}
