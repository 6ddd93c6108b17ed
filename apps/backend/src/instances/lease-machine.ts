import type { BeatMetrics, HealthReport, InstanceStatus } from '@vigil/protocol';
import { LeaseTable } from '../leases/lease-table.js';
import type { ArrivalLog } from './arrival-log.js';
import type { ExpiryGuard } from './expiry-guard.js';
import { aliveStatus, healthEventOf, revivalEventsOf, sameHealth, type HealthEvent } from './instance-health.js';
import { instanceOf, type InstanceInput, type InstanceRecord } from './instance-record.js';
import type { InstanceTable } from './instance-table.js';
import { LEASE_EVENT_TYPES, removedFor, silentFor } from './lease-events.js';
import type { RegistryListeners } from './registry-events.js';
import type { RegistryOptions } from './registry-options.js';
import { timingsOf } from './timings.js';

/** The least silence beyond one interval that makes an instance suspect. */
export const SUSPECT_GRACE_MS = 1_000;

/** Granularity of the lease table: deadlines fire at most this late (plus the tick period). */
export const LEASE_SLOT_MS = 10;

/**
 * The lease state machine of the in-memory engine. A beat renews an ephemeral instance's lease
 * (`healthy`); an overdue beat makes it `suspect`; a lease that runs out makes it `lost`, unless
 * the guard holds it as `suspect` for a further timeout (self-preservation); a goodbye makes it
 * `offline` at once; a lost or offline instance is removed `removeAfterMs` after its last beat.
 * Persistent instances have no lease: probes set them `healthy` or `unhealthy`. An ephemeral
 * instance whose beats report its health `down` is `unhealthy` while it beats (instance-health.ts),
 * and goes `lost` without a suspect phase when it stops.
 *
 * Each record has one deadline in the lease table, for its next transition. The redis store
 * runs the same machine in Lua (store/redis-scripts.ts); lease-scenarios.test.ts holds both to
 * one table of scenarios.
 */
export class LeaseMachine {
  private readonly leases: LeaseTable<InstanceRecord>;
  /** The table's, held here too: a beat reaches it without going through the table. */
  private readonly arrivals: ArrivalLog;

  constructor(
    private readonly options: RegistryOptions,
    private readonly table: InstanceTable,
    private readonly guard: ExpiryGuard,
    private readonly listeners: RegistryListeners,
    now: number,
  ) {
    this.leases = new LeaseTable(LEASE_SLOT_MS, now);
    this.arrivals = table.arrivals;
  }

  /** The record's next timed transition, if one is scheduled. */
  deadlineOf(record: InstanceRecord): number | undefined {
    return this.leases.deadlineOf(record);
  }

  /**
   * A new instance (its strings already pooled): healthy (unhealthy if its health is down), on a
   * lease if ephemeral, with the metrics its first beat brought.
   */
  register(input: InstanceInput, now: number, figures: BeatMetrics | undefined, health: HealthReport | null): InstanceRecord {
    const status = input.ephemeral ? aliveStatus(health) : 'healthy';
    const instance = instanceOf(input, status, now, now, now, null, health);
    const record = this.table.add(instance, timingsOf(input.metadata, this.options.timings));
    if (figures !== undefined) this.table.sample(record, figures, now);
    this.guard.tally(record, 1);
    if (input.ephemeral) this.scheduleNext(record);
    this.listeners.change({ type: 'upsert', instance });
    this.listeners.event({ time: now, level: 'normal', type: 'instance.registered', message: 'registered', instance });
    const reported = healthEventOf(null, health);
    if (reported !== null) this.logHealth(record, reported, now);
    return record;
  }

  /**
   * A known instance reported a different identity: the record takes it (strings pooled), and
   * its timings, which its metadata may set. Status and lease times stay; `renew` follows.
   */
  reidentify(record: InstanceRecord, input: InstanceInput): void {
    const previous = record.instance;
    this.guard.tally(record, -1);
    record.timings = timingsOf(input.metadata, this.options.timings);
    const next = this.table.strings.internInput(input);
    // A full agent beat carries no Nacos identity: the one the instance had stays.
    const nacos = 'nacos' in input ? next.nacos : previous.nacos;
    this.table.replace(
      record,
      instanceOf(
        { ...next, nacos },
        previous.status,
        previous.registeredAt,
        previous.lastHeartbeatTime,
        previous.statusSince,
        previous.metrics,
        previous.health,
      ),
    );
    this.guard.tally(record, 1);
    if (!input.ephemeral) this.leases.cancel(record);
  }

  /**
   * A beat at `now`: the hot path. A plain beat writes the time on the record, reports a `beat`
   * (with the instance's metrics when this beat brought them) and moves the deadline (a lazy move
   * in the lease table); only a change of status (a revival, a health report going down or up
   * again), of identity or of health builds a new Instance. `reported`: the health a full beat
   * carried (null: none); a light beat (undefined) leaves the last report in force.
   */
  renew(record: InstanceRecord, now: number, changed: boolean, reported?: HealthReport | null): void {
    const current = record.instance;
    this.arrivals.push(record.slot, now);
    record.held = false;
    const before = current.health;
    const healthChanged = reported !== undefined && !sameHealth(reported, before);
    const health = reported === undefined || !healthChanged ? before : reported;
    const alive = aliveStatus(health);
    // Persistent instances are judged by probes, not beats; a beat only refreshes them.
    if (current.ephemeral && current.status !== alive) {
      const from = current.status;
      current.lastHeartbeatTime = now;
      this.transition(record, alive, now, health);
      const events = from === 'healthy' || from === 'unhealthy' ? [healthEventOf(before, health)] : revivalEventsOf(from, before, health);
      for (const event of events) if (event !== null) this.logHealth(record, event, now);
    } else if (changed || healthChanged) {
      record.instance = instanceOf(current, current.status, current.registeredAt, now, current.statusSince, current.metrics, health);
      this.listeners.change({ type: 'upsert', instance: record.instance });
      const event = healthChanged ? healthEventOf(before, health) : null;
      if (event !== null) this.logHealth(record, event, now);
    } else {
      current.lastHeartbeatTime = now;
      const metrics = current.metrics !== null && current.metrics.sampledAt === now ? current.metrics : null;
      this.listeners.change({ type: 'beat', instanceId: current.instanceId, time: now, metrics });
    }
    if (current.ephemeral) this.scheduleNext(record);
  }

  /** The service said goodbye: offline at once, removed like a lost one. */
  deregister(record: InstanceRecord, now: number): void {
    if (record.instance.status !== 'offline') {
      this.transition(record, 'offline', now);
      this.listeners.event({ time: now, level: 'normal', type: 'instance.offline', message: 'said goodbye', instance: record.instance });
    }
    this.leases.schedule(record, record.instance.lastHeartbeatTime + record.timings.removeAfterMs);
  }

  /** Sets a record's status, and its health when a beat reported one (counts, self-preservation share and dashboards follow). */
  transition(record: InstanceRecord, status: InstanceStatus, since: number, health = record.instance.health): void {
    this.guard.tally(record, -1);
    const current = record.instance;
    this.table.replace(
      record,
      instanceOf(current, status, current.registeredAt, current.lastHeartbeatTime, since, current.metrics, health),
    );
    this.guard.tally(record, 1);
    this.listeners.change({ type: 'upsert', instance: record.instance });
  }

  /** Removes an instance, logging why. */
  remove(record: InstanceRecord, now: number, reason: string): void {
    const { instance } = record;
    this.forget(record);
    this.listeners.event({ time: now, level: 'normal', type: LEASE_EVENT_TYPES.removed, message: removedFor(reason), instance });
  }

  /** Removes an instance without an event (the replica or store that removed it logged it). */
  forget(record: InstanceRecord): void {
    this.leases.cancel(record);
    this.table.drop(record);
    this.guard.tally(record, -1);
    this.listeners.change({ type: 'removed', instanceId: record.instance.instanceId });
  }

  /**
   * Fires every lease deadline due at `now`. Called every `tickMs`; a much longer gap since the
   * previous call means the backend stalled, and every lease is first extended by the stall.
   */
  tick(now: number): void {
    const stallMs = this.guard.stallAt(now);
    if (stallMs > 0) {
      for (const record of this.table.values()) {
        const deadline = this.leases.deadlineOf(record);
        if (deadline === undefined) continue;
        this.leases.schedule(record, deadline + stallMs);
        record.leaseEnd += stallMs;
      }
      this.guard.stalled(stallMs, now);
    }
    this.leases.expire(now, (record, deadline) => this.onDeadline(record, deadline, now));
    this.guard.settle(now, true);
  }

  private logHealth(record: InstanceRecord, event: HealthEvent, now: number): void {
    this.listeners.event({ time: now, ...event, instance: record.instance });
  }

  /**
   * Schedules the next transition of a beating ephemeral instance: suspect if an interval is
   * known, else lost; an unhealthy one goes lost without a suspect phase (it said it is down:
   * being overdue adds nothing a user needs before the lease ends).
   */
  private scheduleNext(record: InstanceRecord): void {
    const last = record.instance.lastHeartbeatTime;
    const lostAt = last + record.timings.lostAfterMs;
    record.leaseEnd = lostAt;
    if (record.instance.status === 'unhealthy') {
      this.leases.schedule(record, lostAt);
      return;
    }
    const interval = record.timings.intervalMs ?? this.arrivals.estimatedInterval(record.slot);
    // k missed intervals, but never less than one interval plus a second: sub-second hiccups
    // (a busy host, a GC) are not worth a warning.
    const suspectAt =
      interval === null ? Infinity : last + Math.max(interval * this.options.suspectAfterIntervals, interval + SUSPECT_GRACE_MS);
    this.leases.schedule(record, Math.min(suspectAt, lostAt));
  }

  private onDeadline(record: InstanceRecord, deadline: number, now: number): void {
    const { instance } = record;
    const removeAt = instance.lastHeartbeatTime + record.timings.removeAfterMs;
    switch (instance.status) {
      case 'healthy':
        if (deadline < record.leaseEnd) {
          this.transition(record, 'suspect', deadline);
          this.listeners.event({
            time: now,
            level: 'normal',
            type: LEASE_EVENT_TYPES.suspect,
            message: silentFor(deadline - instance.lastHeartbeatTime),
            instance: record.instance,
            deadline,
          });
          this.leases.schedule(record, record.leaseEnd);
          return;
        }
        this.expire(record, deadline, now);
        return;
      case 'suspect':
        this.expire(record, deadline, now);
        return;
      case 'unhealthy':
        // A persistent instance has no deadline; an agent's (its health down) has only its lease's end.
        if (deadline < record.leaseEnd) this.leases.schedule(record, record.leaseEnd);
        else this.expire(record, deadline, now);
        return;
      default:
        if (now < removeAt) {
          this.leases.schedule(record, removeAt);
          return;
        }
        this.remove(record, now, instance.status === 'offline' ? 'offline' : 'lost');
    }
  }

  /** The lease ran out: lost, unless self-preservation holds it for a further timeout. */
  private expire(record: InstanceRecord, deadline: number, now: number): void {
    const { instance } = record;
    if (!record.held && this.guard.shouldHold(now)) {
      record.held = true;
      record.leaseEnd = deadline + record.timings.lostAfterMs;
      if (instance.status !== 'suspect') this.transition(record, 'suspect', deadline);
      this.leases.schedule(record, record.leaseEnd);
      return;
    }
    record.held = false;
    this.transition(record, 'lost', deadline);
    this.guard.noteLost(record, now);
    this.listeners.event({
      time: now,
      level: 'important',
      type: LEASE_EVENT_TYPES.lost,
      message: silentFor(deadline - instance.lastHeartbeatTime),
      instance: record.instance,
      attributes: { lastHeartbeatTime: String(instance.lastHeartbeatTime), deadline: String(deadline) },
      deadline,
    });
    this.leases.schedule(record, instance.lastHeartbeatTime + record.timings.removeAfterMs);
  }
}
