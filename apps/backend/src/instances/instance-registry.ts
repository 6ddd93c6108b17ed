import type { BeatResult, EventLevel, FullBeat, Heartbeat, Instance, InstanceStatus, PluginInfo } from '@vigil/protocol';
import { LeaseTable, NO_SLOT, type Leased } from '../leases/lease-table.js';
import { ArrivalLog } from './arrival-log.js';
import { ExtInfoChangeRate } from './ext-info-change-rate.js';
import { StringPool } from './string-pool.js';
import { timingsOf, type Timings } from './timings.js';

/** What changed, for whoever pushes changes to dashboards. */
export type RegistryChange =
  | { type: 'upsert'; instance: Instance }
  | { type: 'removed'; instanceId: string }
  /** A beat that renewed the lease and changed nothing else a user sees. */
  | { type: 'beat'; instanceId: string; time: number };

/** Something worth an entry in the event log, derived by the registry. */
export interface RegistryEvent {
  time: number;
  level: EventLevel;
  type: string;
  message: string;
  instance?: Pick<Instance, 'instanceId' | 'service'>;
  attributes?: Record<string, string>;
  /** For a timed transition (suspect, lost): the deadline it fired for; `time - deadline` is the expiry lag. */
  deadline?: number;
}

export interface RegistryOptions {
  /** Global defaults; metadata may override them per instance. */
  timings: Timings;
  /** Beats missed before an overdue instance is `suspect` (k in k-missed-intervals). */
  suspectAfterIntervals: number;
  /** Period of the tick that calls `tick()`. */
  tickMs: number;
  /** A gap between two ticks longer than this means the backend itself stalled. */
  stallThresholdMs: number;
  selfPreservation: {
    /** Smallest fleet (ephemeral instances) it applies to. */
    minInstances: number;
    /** Share of the fleet overdue or recently lost that makes a mass expiry suspicious. */
    ratio: number;
  };
  /** Arrival times kept per instance for the jitter sparkline. */
  historySize: number;
}

/** The identity and settings of an instance, whatever protocol registered it. */
export type InstanceInput = Omit<Instance, 'status' | 'registeredAt' | 'lastHeartbeatTime' | 'statusSince'>;

/** The least silence beyond one interval that makes an instance suspect. */
export const SUSPECT_GRACE_MS = 1_000;

/** Granularity of the lease table: deadlines fire at most this late (plus the tick period). */
export const LEASE_SLOT_MS = 10;

/** An instance's lease, as `leaseStateOf` reports it. */
export interface LeaseState {
  status: InstanceStatus;
  statusSince: number;
  lastBeat: number;
  next: number | null;
  leaseEnd: number;
  removeAt: number;
  lostAfterMs: number;
  held: boolean;
}

/**
 * What the beat path needs of a known instance, from one lookup (`beatTarget`): its timings, and
 * its rate-limit bucket (beat-rate-limit.ts), kept on the record rather than in a map of its own.
 */
export interface BeatTarget {
  readonly timings: Timings;
  /** Tokens left in the instance's rate-limit bucket; NaN until its first beat is counted. */
  rateTokens: number;
  /** When the bucket was last filled up (epoch ms). */
  rateAt: number;
}

/**
 * One instance. Kept small, because a backend holds hundreds of thousands: the instance as the API
 * shows it (its low-cardinality strings shared through a pool), its timings (the shared defaults
 * unless its metadata overrides them), and a slot in the registry's arrival log instead of an
 * array of its own. A full beat is compared with the instance field by field, not through a
 * stored fingerprint string.
 */
interface InstanceRecord extends Leased, BeatTarget {
  instance: Instance;
  timings: Timings;
  /** Its ring of recent beat arrival times in the registry's ArrivalLog. */
  slot: number;
  /** The deadline that made this instance lost or held it (the lease's end). */
  leaseEnd: number;
  /** Held as suspect by self-preservation instead of being expired. */
  held: boolean;
}

/**
 * The set of known instances and their leases. A beat renews an ephemeral instance's lease;
 * an overdue beat makes it `suspect`; a lease that runs out makes it `lost`; a goodbye makes it
 * `offline` at once; a lost or offline instance is removed `removeAfterMs` after its last beat.
 * Persistent instances have no lease: probes set them `healthy` or `unhealthy`.
 *
 * It refuses to expire a fleet because of its own fault: a stall of the backend (blocked event
 * loop, SIGSTOP, GC) is detected from the tick gap and every lease is extended by it; and when a
 * large share of the fleet would go lost at once, it holds them as `suspect` for a further
 * timeout (self-preservation). Pure logic: time is passed in, so tests drive it exactly.
 */
export class InstanceRegistry {
  private readonly records = new Map<string, InstanceRecord>();
  private readonly leases: LeaseTable<InstanceRecord>;
  private readonly arrivals: ArrivalLog;
  private readonly strings = new StringPool();
  private readonly extInfoChanges = new ExtInfoChangeRate();
  private readonly changeListeners = new Set<(change: RegistryChange) => void>();
  private readonly eventListeners = new Set<(event: RegistryEvent) => void>();
  private readonly counts: Record<InstanceStatus, number> = { healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0 };
  private ephemeralCount = 0;
  /**
   * Self-preservation's share counts only ephemeral instances on the global timings (`onCommonClock`):
   * how many there are, and how many of them are suspect.
   */
  private commonCount = 0;
  private commonSuspect = 0;
  /** Times of recent lost transitions of instances on the common clock (from index `recentLostHead` on), for the self-preservation share. */
  private recentLost: number[] = [];
  private recentLostHead = 0;
  private preserving = false;
  /** Undefined until the first tick: the time the app around the registry takes to boot is no stall. */
  private lastTick: number | undefined;

  constructor(
    private readonly options: RegistryOptions,
    now: number,
  ) {
    this.leases = new LeaseTable(LEASE_SLOT_MS, now);
    this.arrivals = new ArrivalLog(options.historySize);
  }

  get size(): number {
    return this.records.size;
  }

  /** Instances without a lease (persistent Nacos instances, judged by probes). */
  get persistentCount(): number {
    return this.records.size - this.ephemeralCount;
  }

  /** True while self-preservation holds overdue instances instead of expiring them. */
  get selfPreserving(): boolean {
    return this.preserving;
  }

  countByStatus(): Readonly<Record<InstanceStatus, number>> {
    return this.counts;
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  list(): Instance[] {
    return Array.from(this.records.values(), (record) => record.instance);
  }

  get(instanceId: string): Instance | undefined {
    return this.records.get(instanceId)?.instance;
  }

  /** Recent arrival times of an instance's beats, oldest first. */
  history(instanceId: string): readonly number[] {
    const record = this.records.get(instanceId);
    return record ? this.arrivals.list(record.slot) : [];
  }

  /** A known instance as the beat path needs it (pass it back to `applyBeat`); undefined when unknown. */
  beatTarget(instanceId: string): BeatTarget | undefined {
    return this.records.get(instanceId);
  }

  /** The interval the instance is expected to beat at, when configured for it (metadata or global). */
  configuredInterval(instanceId: string): number | null {
    return this.records.get(instanceId)?.timings.intervalMs ?? null;
  }

  /** How long the instance may stay silent before it is lost (its metadata's, else the global one). */
  lostAfter(instanceId: string): number {
    return this.records.get(instanceId)?.timings.lostAfterMs ?? this.options.timings.lostAfterMs;
  }

  /**
   * Applies a validated agent beat received at `now`. `target`: what `beatTarget` returned for
   * its instance in the same synchronous step, to spare a second lookup.
   */
  applyBeat(beat: Heartbeat, now: number, target?: BeatTarget): BeatResult {
    if (beat.kind === 'full') return this.upsert(agentInstanceOf(beat), now);
    const record = (target as InstanceRecord | undefined) ?? this.records.get(beat.instanceId);
    if (!record) return 'unknown';
    if (beat.kind === 'goodbye') {
      this.deregister(record, now);
      return 'offline';
    }
    this.renew(record, now, false);
    return 'renewed';
  }

  /** Registers or refreshes an instance (full agent beat, Nacos register or beat with body). */
  upsert(input: InstanceInput, now: number): 'registered' | 'renewed' {
    const record = this.records.get(input.instanceId);
    if (!record) {
      this.register(this.strings.internInput(input), now);
      return 'registered';
    }
    const changed = !sameInput(input, record.instance);
    if (changed) {
      const previous = record.instance;
      if (previous.ephemeral !== input.ephemeral) this.ephemeralCount += input.ephemeral ? 1 : -1;
      this.tally(record, -1);
      record.timings = timingsOf(input.metadata, this.options.timings);
      const next = this.strings.internInput(input);
      record.instance = instanceOf({ ...next, nacos: 'nacos' in input ? next.nacos : previous.nacos }, previous.status, previous.registeredAt, previous.lastHeartbeatTime, previous.statusSince);
      this.tally(record, 1);
      this.emitPluginEvents(previous, input.plugins, now);
      if (!input.ephemeral) this.leases.cancel(record);
    }
    this.renew(record, now, changed);
    return 'renewed';
  }

  /** Renews a known instance's lease (light beat, Nacos light beat); false when unknown. */
  renewById(instanceId: string, now: number): boolean {
    const record = this.records.get(instanceId);
    if (!record) return false;
    this.renew(record, now, false);
    return true;
  }

  /** Removes an instance at once (Nacos deregister). */
  remove(instanceId: string, now: number): boolean {
    const record = this.records.get(instanceId);
    if (!record) return false;
    this.delete(record, now, 'deregistered');
    return true;
  }

  /** Result of health probes of a persistent instance: flips it healthy / unhealthy. */
  setProbeResult(instanceId: string, healthy: boolean, now: number): void {
    const record = this.records.get(instanceId);
    if (!record || record.instance.ephemeral) return;
    const status: InstanceStatus = healthy ? 'healthy' : 'unhealthy';
    if (record.instance.status === status) return;
    this.transition(record, status, now);
    this.emitEvent({
      time: now,
      level: healthy ? 'normal' : 'important',
      type: healthy ? 'instance.recovered' : 'instance.unhealthy',
      message: healthy ? 'health probes pass again' : 'health probes failed 3 times in a row',
      instance: record.instance,
    });
  }

  /**
   * The lease state of an instance as a shared store needs it: its status, last beat, the next
   * timed transition (the lease table's deadline; null when none is due, e.g. a persistent
   * instance), the lease's end, when it is removed, and whether self-preservation holds it.
   */
  leaseStateOf(instanceId: string): LeaseState | undefined {
    const record = this.records.get(instanceId);
    if (!record) return undefined;
    const { instance, timings } = record;
    return {
      status: instance.status,
      statusSince: instance.statusSince,
      lastBeat: instance.lastHeartbeatTime,
      next: this.leases.deadlineOf(record) ?? null,
      leaseEnd: record.leaseEnd,
      removeAt: instance.lastHeartbeatTime + timings.removeAfterMs,
      lostAfterMs: timings.lostAfterMs,
      held: record.held,
    };
  }

  /**
   * True when expiring now would be a mass expiry (the self-preservation rule), for a store
   * that runs the expiry itself (the redis store's claim holds instead of expiring).
   */
  expiryLooksMassive(now: number): boolean {
    return this.massExpiryLikely(now);
  }

  /**
   * Mirrors an instance another replica registered or changed: the record as it was sent, no
   * event (the replica that saw the change logged it), no lease of its own.
   */
  applyRemoteUpsert(remote: Instance): void {
    const pooled = this.strings.internInput(remote);
    const instance = instanceOf(pooled, pooled.status, pooled.registeredAt, pooled.lastHeartbeatTime, pooled.statusSince);
    const record = this.records.get(instance.instanceId);
    if (!record) {
      const slot = this.arrivals.allocate();
      this.arrivals.push(slot, instance.lastHeartbeatTime);
      const record: InstanceRecord = {
        instance,
        timings: timingsOf(instance.metadata, this.options.timings),
        slot,
        leaseEnd: 0,
        held: false,
        leaseDeadline: 0,
        leaseSlot: NO_SLOT,
        rateTokens: Number.NaN,
        rateAt: 0,
      };
      this.records.set(instance.instanceId, record);
      this.counts[instance.status]++;
      if (instance.ephemeral) this.ephemeralCount++;
      this.tally(record, 1);
      this.emitChange({ type: 'upsert', instance });
      return;
    }
    if (record.instance.ephemeral !== instance.ephemeral) this.ephemeralCount += instance.ephemeral ? 1 : -1;
    this.counts[record.instance.status]--;
    this.counts[instance.status]++;
    const becameLost = instance.status === 'lost' && record.instance.status !== 'lost';
    this.tally(record, -1);
    record.timings = timingsOf(instance.metadata, this.options.timings);
    record.instance = instance;
    this.tally(record, 1);
    if (becameLost) this.noteLost(record, instance.statusSince);
    this.emitChange({ type: 'upsert', instance });
  }

  /** Mirrors a plain beat another replica took; an instance mirrored as overdue is healthy again. */
  applyRemoteBeat(instanceId: string, time: number): void {
    const record = this.records.get(instanceId);
    if (!record || time < record.instance.lastHeartbeatTime) return;
    this.arrivals.push(record.slot, time);
    record.held = false;
    if (record.instance.ephemeral && record.instance.status !== 'healthy') {
      record.instance.lastHeartbeatTime = time;
      this.transition(record, 'healthy', time);
      return;
    }
    record.instance.lastHeartbeatTime = time;
    this.emitChange({ type: 'beat', instanceId, time });
  }

  /**
   * Applies a timed transition the shared store decided (suspect, lost, held): the record's
   * status, lease end and hold flag; the lease table follows, so a later beat taken here
   * schedules from the right state.
   */
  applyRemoteTransition(instanceId: string, status: InstanceStatus, since: number, leaseEnd: number, held: boolean): void {
    const record = this.records.get(instanceId);
    if (!record) return;
    record.leaseEnd = leaseEnd;
    record.held = held;
    // The store held a mass expiry: this replica is in self-preservation too (shown by /readyz
    // and the gauge; no event: the store raises none), until `settleSelfPreservation` sees the
    // overdue share drop below the ratio.
    if (held) this.preserving = true;
    if (status === 'lost' && record.instance.status !== 'lost') this.noteLost(record, since);
    if (record.instance.status !== status) this.transition(record, status, since);
  }

  /**
   * For a store that runs the expiry itself (redis), every tick instead of `tick`: leaves
   * self-preservation, entered when the store held an instance (`applyRemoteTransition`), once
   * the overdue share is below the ratio again, as `tick` does. No event (the store raises none).
   */
  settleSelfPreservation(now: number): void {
    if (this.preserving && !this.massExpiryLikely(now)) this.preserving = false;
  }

  /** Forgets an instance another replica or the store removed, without an event (the remover logged it). */
  applyRemoteRemove(instanceId: string): boolean {
    const record = this.records.get(instanceId);
    if (!record) return false;
    this.records.delete(instanceId);
    this.extInfoChanges.forget(instanceId);
    this.leases.cancel(record);
    this.arrivals.release(record.slot);
    this.counts[record.instance.status]--;
    if (record.instance.ephemeral) this.ephemeralCount--;
    this.tally(record, -1);
    this.emitChange({ type: 'removed', instanceId });
    return true;
  }

  /**
   * Fires every lease deadline due at `now`. Called every `tickMs`; a much longer gap since the
   * previous call means the backend stalled, and every lease is first extended by the stall.
   */
  tick(now: number): void {
    const gap = now - (this.lastTick ?? now);
    this.lastTick = now;
    if (gap > this.options.stallThresholdMs) this.compensateStall(gap - this.options.tickMs, now);
    this.leases.expire(now, (record, deadline) => this.onDeadline(record, deadline, now));
    if (this.preserving && !this.massExpiryLikely(now)) {
      this.preserving = false;
      this.emitEvent({
        time: now,
        level: 'important',
        type: 'self-preservation.left',
        message: 'beats are back to normal; overdue instances expire on time again',
      });
    }
  }

  private compensateStall(stallMs: number, now: number): void {
    for (const record of this.records.values()) {
      const deadline = this.leases.deadlineOf(record);
      if (deadline === undefined) continue;
      this.leases.schedule(record, deadline + stallMs);
      record.leaseEnd += stallMs;
    }
    for (let i = this.recentLostHead; i < this.recentLost.length; i++) this.recentLost[i]! += stallMs;
    this.emitEvent({
      time: now,
      level: 'important',
      type: 'backend.stall',
      message: `the backend was stalled for ${Math.round(stallMs)} ms; every lease was extended by that much`,
      attributes: { stallMs: String(Math.round(stallMs)) },
    });
  }

  private register(input: InstanceInput, now: number): void {
    const instance = instanceOf(input, 'healthy', now, now, now);
    const slot = this.arrivals.allocate();
    this.arrivals.push(slot, now);
    const record: InstanceRecord = {
      instance,
      timings: timingsOf(input.metadata, this.options.timings),
      slot,
      leaseEnd: 0,
      held: false,
      leaseDeadline: 0,
      leaseSlot: NO_SLOT,
      rateTokens: Number.NaN,
      rateAt: 0,
    };
    this.records.set(input.instanceId, record);
    this.counts.healthy++;
    this.tally(record, 1);
    if (input.ephemeral) {
      this.ephemeralCount++;
      this.scheduleNext(record);
    }
    this.emitChange({ type: 'upsert', instance });
    this.emitEvent({ time: now, level: 'normal', type: 'instance.registered', message: 'registered', instance });
  }

  private renew(record: InstanceRecord, now: number, changed: boolean): void {
    const current = record.instance;
    this.arrivals.push(record.slot, now);
    record.held = false;
    // Persistent instances are judged by probes, not beats; a beat only refreshes them.
    const revive = current.ephemeral && current.status !== 'healthy';
    if (revive) {
      const from = current.status;
      current.lastHeartbeatTime = now;
      this.transition(record, 'healthy', now);
      this.emitEvent({
        time: now,
        level: 'normal',
        type: 'instance.recovered',
        message: `beats again after being ${from}`,
        instance: record.instance,
        attributes: { from },
      });
    } else if (changed) {
      record.instance = instanceOf(current, current.status, current.registeredAt, now, current.statusSince);
      this.emitChange({ type: 'upsert', instance: record.instance });
    } else {
      current.lastHeartbeatTime = now;
      this.emitChange({ type: 'beat', instanceId: current.instanceId, time: now });
    }
    if (current.ephemeral) this.scheduleNext(record);
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

  /** The service said goodbye: offline at once, removed like a lost one. */
  private deregister(record: InstanceRecord, now: number): void {
    if (record.instance.status !== 'offline') {
      this.transition(record, 'offline', now);
      this.emitEvent({ time: now, level: 'normal', type: 'instance.offline', message: 'said goodbye', instance: record.instance });
    }
    this.leases.schedule(record, record.instance.lastHeartbeatTime + record.timings.removeAfterMs);
  }

  private onDeadline(record: InstanceRecord, deadline: number, now: number): void {
    const { instance } = record;
    const removeAt = instance.lastHeartbeatTime + record.timings.removeAfterMs;
    switch (instance.status) {
      case 'healthy':
        if (deadline < record.leaseEnd) {
          this.transition(record, 'suspect', deadline);
          this.emitEvent({
            time: now,
            level: 'normal',
            type: 'instance.suspect',
            message: `no beat for ${deadline - instance.lastHeartbeatTime} ms`,
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
        this.delete(record, now, instance.status === 'offline' ? 'offline' : 'lost');
    }
  }

  /** The lease ran out: lost, unless self-preservation holds it for a further timeout. */
  private expire(record: InstanceRecord, deadline: number, now: number): void {
    const { instance } = record;
    if (!record.held && this.shouldHold(now)) {
      record.held = true;
      record.leaseEnd = deadline + record.timings.lostAfterMs;
      if (instance.status !== 'suspect') this.transition(record, 'suspect', deadline);
      this.leases.schedule(record, record.leaseEnd);
      return;
    }
    record.held = false;
    this.transition(record, 'lost', deadline);
    this.noteLost(record, now);
    this.emitEvent({
      time: now,
      level: 'important',
      type: 'instance.lost',
      message: `no beat for ${deadline - instance.lastHeartbeatTime} ms`,
      instance: record.instance,
      attributes: { lastHeartbeatTime: String(instance.lastHeartbeatTime), deadline: String(deadline) },
      deadline,
    });
    this.leases.schedule(record, instance.lastHeartbeatTime + record.timings.removeAfterMs);
  }

  /** Decides (and enters) self-preservation when an expiry is about to happen. */
  private shouldHold(now: number): boolean {
    if (this.preserving) return true;
    if (!this.massExpiryLikely(now)) return false;
    this.preserving = true;
    this.emitEvent({
      time: now,
      level: 'emergency',
      type: 'self-preservation.entered',
      message:
        `${this.commonSuspect} of ${this.commonCount} instances on the global timings are overdue at once: ` +
        'holding every overdue instance as suspect for a further timeout instead of expiring it (is the network or the backend at fault?)',
      attributes: { overdue: String(this.commonSuspect), fleet: String(this.commonCount) },
    });
    return true;
  }

  /**
   * True when a large share of a large enough fleet is overdue or was lost within the last interval.
   * The fleet here is the ephemeral instances on the global timings only. An instance with timings
   * of its own (Nacos metadata, which any client with a scoped token may send) runs on its own
   * clock: a 100 ms interval makes it overdue within a second, a long timeout keeps it overdue, so
   * a handful of them once held the whole fleet (a dead instance of another service stayed
   * `suspect` a further timeout). Such instances are held like the others once self-preservation
   * is on; they just cannot turn it on. Redis mode asks the same question (`expiryLooksMassive`).
   */
  private massExpiryLikely(now: number): boolean {
    const { minInstances, ratio } = this.options.selfPreservation;
    const window = this.options.timings.intervalMs ?? this.options.timings.lostAfterMs / 3;
    if (this.commonCount < minInstances) return false;
    return (this.commonSuspect + this.recentLostCount(now - window)) / this.commonCount >= ratio;
  }

  /** Adds (1) or takes back (-1) a record's part in the self-preservation counts, around a change of its status or timings. */
  private tally(record: InstanceRecord, sign: 1 | -1): void {
    if (!record.instance.ephemeral || record.timings !== this.options.timings) return;
    this.commonCount += sign;
    if (record.instance.status === 'suspect') this.commonSuspect += sign;
  }

  private noteLost(record: InstanceRecord, time: number): void {
    if (record.instance.ephemeral && record.timings === this.options.timings) this.recentLost.push(time);
  }

  private recentLostCount(since: number): number {
    while (this.recentLostHead < this.recentLost.length && (this.recentLost[this.recentLostHead] ?? 0) < since) {
      this.recentLostHead++;
    }
    if (this.recentLostHead > 1024 && this.recentLostHead * 2 > this.recentLost.length) {
      this.recentLost = this.recentLost.slice(this.recentLostHead);
      this.recentLostHead = 0;
    }
    return this.recentLost.length - this.recentLostHead;
  }

  private delete(record: InstanceRecord, now: number, reason: string): void {
    const { instance } = record;
    this.records.delete(instance.instanceId);
    this.extInfoChanges.forget(instance.instanceId);
    this.leases.cancel(record);
    this.arrivals.release(record.slot);
    this.counts[instance.status]--;
    if (instance.ephemeral) this.ephemeralCount--;
    this.tally(record, -1);
    this.emitChange({ type: 'removed', instanceId: instance.instanceId });
    this.emitEvent({ time: now, level: 'normal', type: 'instance.removed', message: `removed (${reason})`, instance });
  }

  private transition(record: InstanceRecord, status: InstanceStatus, since: number): void {
    this.counts[record.instance.status]--;
    this.counts[status]++;
    this.tally(record, -1);
    const current = record.instance;
    record.instance = instanceOf(current, status, current.registeredAt, current.lastHeartbeatTime, since);
    this.tally(record, 1);
    this.emitChange({ type: 'upsert', instance: record.instance });
  }

  private emitPluginEvents(previous: Instance, plugins: PluginInfo[], now: number): void {
    const before = new Map(previous.plugins.map((p) => [p.name, p]));
    for (const plugin of plugins) {
      const old = before.get(plugin.name);
      before.delete(plugin.name);
      const attributes = { plugin: plugin.name, version: plugin.version };
      if (!old) {
        this.emitEvent({ time: now, level: 'normal', type: 'plugin.installed', message: `${plugin.name} ${plugin.version} installed`, instance: previous, attributes });
      } else if (old.version !== plugin.version) {
        this.emitEvent({
          time: now,
          level: 'normal',
          type: 'plugin.upgraded',
          message: `${plugin.name} ${old.version} -> ${plugin.version}`,
          instance: previous,
          attributes: { ...attributes, from: old.version },
        });
      } else if (JSON.stringify(old.extInfo) !== JSON.stringify(plugin.extInfo)) {
        const changes = this.extInfoChanges.admit(previous.instanceId, plugin.name, now);
        if (changes === 0) continue;
        const info = Object.entries(plugin.extInfo).map(([k, v]) => `${k}=${v}`).join(', ') || '(empty)';
        this.emitEvent({
          time: now,
          level: 'normal',
          type: 'plugin.ext-info-changed',
          message: `${plugin.name}: ${info}${changes > 1 ? ` (${changes} changes)` : ''}`,
          instance: previous,
          attributes: changes > 1 ? { ...attributes, changes: String(changes) } : attributes,
        });
      }
    }
    for (const removed of before.values()) {
      this.emitEvent({
        time: now,
        level: 'normal',
        type: 'plugin.removed',
        message: `${removed.name} ${removed.version} removed`,
        instance: previous,
        attributes: { plugin: removed.name, version: removed.version },
      });
    }
  }

  private emitChange(change: RegistryChange): void {
    for (const listener of this.changeListeners) listener(change);
  }

  private emitEvent(event: RegistryEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}

/**
 * Every Instance the registry holds is built here: one object literal with every field, always
 * in this order, so that all instances share one hidden class. Built by spreading (`{ ...input,
 * status }`), each instance got a hidden class and descriptor array of its own: ~600 B per
 * instance (a heap snapshot of 30,000 showed 31,000 descriptor arrays).
 */
function instanceOf(from: InstanceInput, status: InstanceStatus, registeredAt: number, lastHeartbeatTime: number, statusSince: number): Instance {
  return {
    instanceId: from.instanceId,
    source: from.source,
    service: from.service,
    appName: from.appName,
    artifact: from.artifact,
    appType: from.appType,
    hostName: from.hostName,
    ip: from.ip,
    processId: from.processId,
    dynamicInstall: from.dynamicInstall,
    version: from.version,
    plugins: from.plugins,
    metadata: from.metadata,
    ephemeral: from.ephemeral,
    nacos: from.nacos,
    status,
    registeredAt,
    lastHeartbeatTime,
    statusSince,
  };
}

/** Fields of an Instance that are the registry's (its lease), not what a beat or register reported. */
const LEASE_FIELDS = new Set(['status', 'registeredAt', 'lastHeartbeatTime', 'statusSince']);

/**
 * True when a reported identity is the one the instance has (every reported field equal, and no
 * reported field gone): a full beat that changes nothing a user sees is a plain renewal.
 */
export function sameInput(input: InstanceInput, instance: Instance): boolean {
  return sameFields(input, instance, LEASE_FIELDS);
}

/** Deep equality of JSON-like values (parsed bodies): key order does not matter, undefined = absent. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  return sameFields(a, b);
}

/** Every defined field of `a` equals `b`'s, and `b` has no other defined field (but those in `ignored`). */
function sameFields(a: object, b: object, ignored?: ReadonlySet<string>): boolean {
  let fields = 0;
  for (const key in a) {
    const value = (a as Record<string, unknown>)[key];
    if (value === undefined) continue;
    fields++;
    if (!sameJson(value, (b as Record<string, unknown>)[key])) return false;
  }
  for (const key in b) if ((b as Record<string, unknown>)[key] !== undefined && !ignored?.has(key)) fields--;
  return fields === 0;
}

/** The instance a full agent beat describes. */
function agentInstanceOf(beat: FullBeat): InstanceInput {
  return {
    instanceId: beat.instanceId,
    source: 'agent',
    service: beat.service,
    appName: beat.appName,
    artifact: beat.artifact,
    appType: beat.appType,
    hostName: beat.hostName,
    ip: beat.ip,
    processId: beat.processId,
    dynamicInstall: beat.dynamicInstall,
    version: beat.version,
    plugins: beat.plugins,
    metadata: beat.metadata ?? {},
    ephemeral: true,
  };
}
