import { setTimeout as sleep } from 'node:timers/promises';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Clock } from '../common/clock.js';
import type { EventsService } from '../events/events.service.js';
import type { InstanceRegistry } from '../instances/instance-registry.js';
import type { PluginCommandQueue } from '../instances/plugin-commands.js';
import { ChangeFeedReader } from './change-feed.js';
import { ExpiryClaim } from './expiry-claim.js';
import type { FleetStore, StoreHealth } from './fleet-store.js';
import { FleetLink, type RedisFleetOptions } from './fleet-link.js';
import { FleetMirror } from './fleet-mirror.js';
import { FleetResync } from './fleet-resync.js';
import { redactedUrl } from './redis-connection.js';
import { RedisOutage } from './redis-outage.js';
import { WriteThrough } from './write-through.js';

/** How long the boot waits for Redis before starting degraded (beats answered from memory). */
export const BOOT_WAIT_MS = 3_000;

/**
 * The redis store: several replicas, one fleet. Every replica keeps the whole fleet in its
 * registry, so beats are answered from memory (no Redis round trip on the hot path) and REST
 * and dashboards on any replica see every instance. What a replica changes locally is written
 * through to Redis every lease tick (write-through.ts) and appended to a change feed the other
 * replicas apply to their mirrors (change-feed.ts, fleet-mirror.ts). Timed transitions
 * (suspect, lost, removed) are not fired by any replica's lease table: a claim script over a
 * deadline-sorted set makes each exactly once across replicas (expiry-claim.ts).
 *
 * While Redis cannot be reached (redis-outage.ts), beats are still answered and kept (their
 * writes wait), no claim runs, so nothing expires; when it is back, the first claim extends
 * every lease by the gap, and the waiting writes go out. Every reconnection is reconciled first
 * (fleet-resync.ts): if Redis came back empty, the replica writes its whole mirror back. This
 * class wires those jobs together and runs them on the lease tick.
 */
export class RedisFleetStore implements FleetStore, OnModuleInit, OnModuleDestroy {
  private readonly link: FleetLink;
  private readonly outage: RedisOutage;
  private readonly writes: WriteThrough;
  private readonly expiry: ExpiryClaim;
  private readonly feed: ChangeFeedReader;
  private readonly resync: FleetResync;
  private stopped = false;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly events: EventsService,
    private readonly commands: PluginCommandQueue,
    private readonly clock: Clock,
    options: RedisFleetOptions,
  ) {
    this.link = new FleetLink(options);
    this.outage = new RedisOutage(this.link, events);
    const mirror = new FleetMirror(registry, commands, events);
    this.writes = new WriteThrough(this.link, registry, commands, mirror, this.outage);
    this.expiry = new ExpiryClaim(this.link, registry, mirror, this.outage);
    this.feed = new ChangeFeedReader(this.link, mirror, this.outage);
    this.resync = new FleetResync(this.link, registry, mirror, this.writes, this.feed, this.outage);
  }

  /** Tags this replica's feed entries and events. */
  get replicaId(): string {
    return this.link.replicaId;
  }

  async onModuleInit(): Promise<void> {
    const { writes } = this;
    this.unsubscribe = [
      this.registry.onChange((change) => writes.noteChange(change)),
      this.commands.onChange((instanceId) => writes.noteCommands(instanceId)),
      this.events.onEvent((event) => writes.noteEvent(event)),
    ];
    this.feed.start();
    // Boot with the fleet Redis has, when it answers soon; otherwise start degraded and catch up.
    const deadline = this.clock.now() + BOOT_WAIT_MS;
    while (!this.link.synced && this.clock.now() < deadline) {
      if (this.link.redis.status === 'ready') await this.resync.resync();
      if (!this.link.synced) await sleep(50);
    }
    if (!this.link.synced)
      this.link.log.warn(
        { url: redactedUrl(this.link.options.target.url) },
        'Redis not reachable yet: serving from memory (degraded) until it is',
      );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.outage.stop();
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    if (this.link.synced) await this.writes.drain(this.clock.now()).catch(() => undefined);
    await this.feed.stop();
    const { redis } = this.link;
    await redis.quit().catch(() => redis.disconnect());
  }

  health(): StoreHealth {
    return { store: 'redis', connected: this.link.synced && !this.outage.degraded && this.link.redis.status === 'ready' };
  }

  tick(now: number): void {
    if (this.stopped) return;
    this.registry.settleSelfPreservation(now);
    if (!this.link.synced) {
      // Lost the connection after having had it (not a boot that waits for Redis).
      if (this.resync.hadContact) this.outage.notice(now, 'connection lost');
      if (this.link.redis.status === 'ready') void this.resync.resync();
      return;
    }
    if (this.outage.degraded) {
      // A hung Redis still holds the connection open: every claim sent into it would time out,
      // then run when it wakes, each with its old time, each reporting a stall of one command
      // timeout (11 events for one 20 s hang). One cheap command asks instead; once it answers,
      // the next claim sees the whole gap since the last claim that ran and extends every lease
      // by it, with one `store.stall` event saying how long.
      void this.outage.probe();
      return;
    }
    // Writes first, on the same connection: the claim sees this replica's beats of this tick.
    void this.writes.flush(now);
    void this.expiry.claim(now);
  }
}
