import type { InstanceStatus } from '@vigil/protocol';
import { LeaseTable } from '../leases/lease-table.js';
import type { ArrivalLog } from './arrival-log.js';
import type { ExpiryGuard } from './expiry-guard.js';
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
 * Persistent instances have no lease: probes set them `healthy` or `unhealthy`.
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

  /** A new instance (its strings already pooled): healthy, on a lease if ephemeral. */
  register(input: InstanceInput, now: number): void {
    const instance = instanceOf(input, 'healthy', now, now, now);
    const record = this.table.add(instance, timingsOf(input.metadata, this.options.timings));
    this.guard.tally(record, 1);
    if (input.ephemeral) this.scheduleNext(record);
    this.listeners.change({ type: 'upsert', instance });
    this.listeners.event({ time: now, level: 'normal', type: 'instance.registered', message: 'registered', instance });
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
      instanceOf({ ...next, nacos }, previous.status, previous.registeredAt, previous.lastHeartbeatTime, previous.statusSince),
    );
    this.guard.tally(record, 1);
    if (!input.ephemeral) this.leases.cancel(record);
  }

  /**
   * A beat at `now`: the hot path. A plain beat writes the time on the record, reports a `beat`
   * and moves the deadline (a lazy move in the lease table); only a revival or a changed
   * identity builds a new Instance.
   */
  renew(record: InstanceRecord, now: number, changed: boolean): void {
    const current = record.instance;
    this.arrivals.push(record.slot, now);
    record.held = false;
    // Persistent instances are judged by probes, not beats; a beat only refreshes them.
    const revive = current.ephemeral && current.status !== 'healthy';
    if (revive) {
      const from = current.status;
      current.lastHeartbeatTime = now;
      this.transition(record, 'healthy', now);
      this.listeners.event({
        time: now,
        level: 'normal',
        type: 'instance.recovered',
        message: `beats again after being ${from}`,
        instance: record.instance,
        attributes: { from },
      });
    } else if (changed) {
      record.instance = instanceOf(current, current.status, current.registeredAt, now, current.statusSince);
      this.listeners.change({ type: 'upsert', instance: record.instance });
    } else {
      current.lastHeartbeatTime = now;
      this.listeners.change({ type: 'beat', instanceId: current.instanceId, time: now });
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

  /** Sets a record's status (counts, self-preservation share and dashboards follow). */
  transition(record: InstanceRecord, status: InstanceStatus, since: number): void {
    this.guard.tally(record, -1);
    const current = record.instance;
    this.table.replace(record, instanceOf(current, status, current.registeredAt, current.lastHeartbeatTime, since));
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

  /** Schedules the next transition of a healthy ephemeral instance: suspect if an interval is known, else lost. */
  private scheduleNext(record: InstanceRecord): void {
    const last = record.instance.lastHeartbeatTime;
    const lostAt = last + record.timings.lostAfterMs;
    record.leaseEnd = lostAt;
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
