import type {
  BeatMetrics,
  BeatResult,
  HealthReport,
  HealthStatus,
  Heartbeat,
  Instance,
  InstanceStatus,
  MetricsSample,
} from '@vigil/protocol';
import { ExpiryGuard } from './expiry-guard.js';
import { agentInstanceOf, type BeatTarget, type InstanceRecord, type InstanceInput } from './instance-record.js';
import { InstanceTable } from './instance-table.js';
import { LeaseMachine } from './lease-machine.js';
import { pluginEvents } from './plugin-diff.js';
import { RegistryListeners, type RegistryChange, type RegistryEvent } from './registry-events.js';
import type { RegistryOptions } from './registry-options.js';
import { ReplicaMirror } from './replica-mirror.js';
import { sameInput } from './same-input.js';

export type { BeatTarget, InstanceInput } from './instance-record.js';
export type { RegistryChange, RegistryEvent } from './registry-events.js';
export type { RegistryOptions } from './registry-options.js';
export { LEASE_SLOT_MS, SUSPECT_GRACE_MS } from './lease-machine.js';
export { sameInput } from './same-input.js';

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
 * The set of known instances and their leases, as the rest of the backend sees it: beats and
 * registrations in, instances, counts, changes and events out. Every module and both stores call
 * this one class, so the parts behind it can change without them; it routes each call to the
 * part whose job it is, and keeps only the choice between a renewal and a change of identity:
 * - `InstanceTable`: the records, counts by status, arrival log and string pool;
 * - `LeaseMachine`: healthy -> suspect -> lost -> removed, goodbyes, revivals (lease-machine.ts);
 * - `ExpiryGuard`: stall compensation and self-preservation, so the registry never expires a
 *   fleet because of its own fault or the network's;
 * - `pluginEvents`: what a changed full beat logs about plugins (plugin-diff.ts);
 * - `ReplicaMirror`: the `applyRemote*` side, for the redis store;
 * - the metrics a beat brings: the instance's latest and its history (the table's side tables,
 *   health/metrics-table.ts and metrics-history.ts), then `onMetrics` listeners (alert rules).
 * Pure logic: time is passed in, so tests drive it exactly.
 */
export class InstanceRegistry {
  private readonly listeners = new RegistryListeners();
  private readonly table: InstanceTable;
  private readonly guard: ExpiryGuard;
  private readonly machine: LeaseMachine;
  private readonly mirror: ReplicaMirror;

  constructor(
    private readonly options: RegistryOptions,
    now: number,
  ) {
    this.table = new InstanceTable(options.historySize);
    this.guard = new ExpiryGuard(options, this.listeners);
    this.machine = new LeaseMachine(options, this.table, this.guard, this.listeners, now);
    this.mirror = new ReplicaMirror(options, this.table, this.machine, this.guard, this.listeners);
  }

  get size(): number {
    return this.table.size;
  }

  /** Instances without a lease (persistent Nacos instances, judged by probes). */
  get persistentCount(): number {
    return this.table.size - this.table.ephemeralCount;
  }

  /** True while self-preservation holds overdue instances instead of expiring them. */
  get selfPreserving(): boolean {
    return this.guard.selfPreserving;
  }

  countByStatus(): Readonly<Record<InstanceStatus, number>> {
    return this.table.counts;
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    return this.listeners.onChange(listener);
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    return this.listeners.onEvent(listener);
  }

  /** Every beat taken here that brought metrics, once applied: the instance, its `metrics` the new ones. */
  onMetrics(listener: (instance: Instance) => void): () => void {
    return this.listeners.onMetrics(listener);
  }

  list(): Instance[] {
    return Array.from(this.table.values(), (record) => record.instance);
  }

  get(instanceId: string): Instance | undefined {
    return this.table.get(instanceId)?.instance;
  }

  /** Recent arrival times of an instance's beats, oldest first. */
  history(instanceId: string): readonly number[] {
    return this.table.history(instanceId);
  }

  /** The instance's metrics history at `now`, oldest first (undefined when unknown). */
  metricsHistory(instanceId: string, now: number): MetricsSample[] | undefined {
    const record = this.table.get(instanceId);
    return record && this.table.metricsHistory.samples(record.slot, instanceId, now);
  }

  /** Keeps a metrics sample per beat of these instances from now on: someone is looking at them. */
  followMetrics(instanceIds: Iterable<string>): void {
    for (const id of instanceIds) if (this.table.get(id)) this.table.metricsHistory.follow(id);
  }

  /** Instances by what they last said of their health (`unknown`: never said), for a fleet-level gauge. */
  countByHealth(): Record<HealthStatus | 'unknown', number> {
    const counts = { up: 0, degraded: 0, down: 0, unknown: 0 };
    for (const { instance } of this.table.values()) counts[instance.health?.status ?? 'unknown']++;
    return counts;
  }

  /** A known instance as the beat path needs it (pass it back to `applyBeat`); undefined when unknown. */
  beatTarget(instanceId: string): BeatTarget | undefined {
    return this.table.get(instanceId);
  }

  /** The interval the instance is expected to beat at, when configured for it (metadata or global). */
  configuredInterval(instanceId: string): number | null {
    return this.table.get(instanceId)?.timings.intervalMs ?? null;
  }

  /** How long the instance may stay silent before it is lost (its metadata's, else the global one). */
  lostAfter(instanceId: string): number {
    return this.table.get(instanceId)?.timings.lostAfterMs ?? this.options.timings.lostAfterMs;
  }

  /**
   * Applies a validated agent beat received at `now`. `target`: what `beatTarget` returned for
   * its instance in the same synchronous step, to spare a second lookup.
   */
  applyBeat(beat: Heartbeat, now: number, target?: BeatTarget): BeatResult {
    if (beat.kind === 'full') return this.upsert(agentInstanceOf(beat), now, beat.health ?? null, beat.metrics);
    const record = (target as InstanceRecord | undefined) ?? this.table.get(beat.instanceId);
    if (!record) return 'unknown';
    if (beat.kind === 'goodbye') {
      this.machine.deregister(record, now);
      return 'offline';
    }
    if (beat.metrics === undefined) {
      this.machine.renew(record, now, false);
      return 'renewed';
    }
    this.table.sample(record, beat.metrics, now);
    this.machine.renew(record, now, false);
    this.listeners.metrics(record.instance);
    return 'renewed';
  }

  /**
   * Registers or refreshes an instance (full agent beat, Nacos register or beat with body). An
   * agent's full beat also says what the instance's health is (`health`: null when it says
   * nothing) and may bring its metrics; a Nacos client's says neither (undefined).
   */
  upsert(input: InstanceInput, now: number, health?: HealthReport | null, figures?: BeatMetrics): 'registered' | 'renewed' {
    let record = this.table.get(input.instanceId);
    const result = record ? 'renewed' : 'registered';
    if (!record) {
      record = this.machine.register(this.table.strings.internInput(input), now, figures, health ?? null);
    } else {
      if (figures !== undefined) this.table.sample(record, figures, now);
      const changed = !sameInput(input, record.instance);
      if (changed) {
        const previous = record.instance;
        this.machine.reidentify(record, input);
        for (const event of pluginEvents(previous, input.plugins, now, this.table.extInfoChanges)) this.listeners.event(event);
      }
      this.machine.renew(record, now, changed, health);
    }
    if (figures !== undefined) this.listeners.metrics(record.instance);
    return result;
  }

  /** Renews a known instance's lease (light beat, Nacos light beat); false when unknown. */
  renewById(instanceId: string, now: number): boolean {
    const record = this.table.get(instanceId);
    if (!record) return false;
    this.machine.renew(record, now, false);
    return true;
  }

  /** Removes an instance at once (Nacos deregister). */
  remove(instanceId: string, now: number): boolean {
    const record = this.table.get(instanceId);
    if (!record) return false;
    this.machine.remove(record, now, 'deregistered');
    return true;
  }

  /** Result of health probes of a persistent instance: flips it healthy / unhealthy. */
  setProbeResult(instanceId: string, healthy: boolean, now: number): void {
    const record = this.table.get(instanceId);
    if (!record || record.instance.ephemeral) return;
    const status: InstanceStatus = healthy ? 'healthy' : 'unhealthy';
    if (record.instance.status === status) return;
    this.machine.transition(record, status, now);
    this.listeners.event({
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
    const record = this.table.get(instanceId);
    if (!record) return undefined;
    const { instance, timings } = record;
    return {
      status: instance.status,
      statusSince: instance.statusSince,
      lastBeat: instance.lastHeartbeatTime,
      next: this.machine.deadlineOf(record) ?? null,
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
    return this.guard.massExpiryLikely(now);
  }

  /**
   * Mirrors an instance another replica registered or changed: the record as it was sent, no
   * event (the replica that saw the change logged it), no lease of its own.
   */
  applyRemoteUpsert(remote: Instance): void {
    this.mirror.upsert(remote);
  }

  /**
   * Mirrors a plain beat another replica took, with the metrics it brought (their history is
   * kept here too; `onMetrics` is not told: the replica that took the beat told its own); an
   * instance mirrored as overdue is alive again.
   */
  applyRemoteBeat(instanceId: string, time: number, figures?: BeatMetrics): void {
    const record = this.table.get(instanceId);
    if (record && figures !== undefined && time >= record.instance.lastHeartbeatTime) this.table.sample(record, figures, time);
    this.mirror.beat(instanceId, time);
  }

  /**
   * Applies a timed transition the shared store decided (suspect, lost, held): the record's
   * status, lease end and hold flag, so a later beat taken here schedules from the right state.
   */
  applyRemoteTransition(instanceId: string, status: InstanceStatus, since: number, leaseEnd: number, held: boolean): void {
    this.mirror.transition(instanceId, status, since, leaseEnd, held);
  }

  /**
   * For a store that runs the expiry itself (redis), every tick instead of `tick`: leaves
   * self-preservation, entered when the store held an instance (`applyRemoteTransition`), once
   * the overdue share is below the ratio again, as `tick` does. No event (the store raises none).
   */
  settleSelfPreservation(now: number): void {
    this.mirror.settle(now);
  }

  /** Forgets an instance another replica or the store removed, without an event (the remover logged it). */
  applyRemoteRemove(instanceId: string): boolean {
    return this.mirror.remove(instanceId);
  }

  /**
   * Fires every lease deadline due at `now`. Called every `tickMs`; a much longer gap since the
   * previous call means the backend stalled, and every lease is first extended by the stall.
   */
  tick(now: number): void {
    this.machine.tick(now);
  }
}
