import type { InstanceRegistry } from '../instances/instance-registry.js';
import type { FleetLink } from './fleet-link.js';
import type { FleetMirror } from './fleet-mirror.js';
import { feedMinId } from './redis-codec.js';
import type { RedisOutage } from './redis-outage.js';

/**
 * Deadlines are claimed this long after they pass: a beat taken just before its deadline by
 * another replica reaches Redis within one write-through (one lease tick) plus a round trip,
 * so a claim never races a renewal already taken. Expiry lag in redis mode is this plus up to
 * one tick.
 */
export const CLAIM_GRACE_MS = 50;

/** Most transitions one claim makes; the rest are due on the next tick (20 ms later). */
export const CLAIM_LIMIT = 5_000;

/**
 * Makes the fleet's timed transitions (suspect, lost, removed) in redis mode, where no
 * replica's lease table fires: every tick, the claim script takes what is due from the shared
 * deadline set, so each transition happens once across replicas. What it decided is applied
 * here and logged as this replica's own events (the others get it from the feed).
 */
export class ExpiryClaim {
  private claiming = false;

  constructor(
    private readonly link: FleetLink,
    private readonly registry: InstanceRegistry,
    private readonly mirror: FleetMirror,
    private readonly outage: RedisOutage,
  ) {}

  async claim(now: number): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      const { redis, keys, replicaId, options } = this.link;
      // Self-preservation is judged on this replica's mirror: it holds the whole fleet.
      const hold = this.registry.expiryLooksMassive(now) ? 1 : 0;
      const [changes, logged] = await redis.vigilClaim(
        keys.due,
        keys.lease,
        keys.inst,
        keys.feed,
        keys.events,
        keys.tick,
        keys.cmds,
        now,
        now - CLAIM_GRACE_MS,
        CLAIM_LIMIT,
        replicaId,
        hold,
        options.eventsMax,
        feedMinId(now),
        options.stallThresholdMs,
        options.tickMs,
      );
      this.mirror.applying = true;
      try {
        this.mirror.applyClaim(changes);
        // Already in the events stream (the script wrote them): recorded here, not written again.
        this.mirror.recordClaimEvents(logged);
      } finally {
        this.mirror.applying = false;
      }
      this.outage.recovered();
    } catch (error) {
      // Nothing was claimed, so nothing expired; once Redis answers again (`probe`), claims go on.
      this.outage.notice(now, (error as Error).message);
      this.outage.failed(error as Error);
    } finally {
      this.claiming = false;
    }
  }
}
