import type { EventRecord, Instance, InstanceMetrics } from '@vigil/protocol';
import type { RegistryChange } from '../instances/instance-registry.js';

/** Events carried by one delta at most; the events API has them all. */
export const MAX_EVENTS_PER_DELTA = 200;

/**
 * One instance's change: the version dashboards last knew and the current one. `before` is
 * undefined for a new instance, `after` for a removed one.
 */
export interface InstanceChange {
  before: Instance | undefined;
  after: Instance | undefined;
}

/** Everything that happened between two pushes. */
export interface ChangeBatch {
  /** Instances whose visible fields changed, or that appeared or went, by id. */
  changes: Map<string, InstanceChange>;
  /** Instance id -> lastHeartbeatTime, for beats that changed nothing else. */
  beats: Map<string, number>;
  /** Instance id -> its metrics, for those of the beats that brought metrics. */
  metrics: Map<string, InstanceMetrics>;
  /** New events, oldest first, at most the newest `MAX_EVENTS_PER_DELTA`. */
  events: EventRecord[];
}

/**
 * Coalesces registry changes between two pushes. It keeps the version of every instance as last
 * reported, because the registry reports only the new one and a view must know whether the old
 * one matched its filter (an instance leaving a `status=healthy` view shrinks it even when it was
 * not on screen). Renewals that changed nothing else cost one map entry, never a record.
 */
export class DeltaBatcher {
  private readonly known = new Map<string, Instance>();
  private changes = new Map<string, InstanceChange>();
  private beats = new Map<string, number>();
  private metrics = new Map<string, InstanceMetrics>();
  private events: EventRecord[] = [];

  constructor(initial: Iterable<Instance>) {
    for (const instance of initial) this.known.set(instance.instanceId, instance);
  }

  /** Records a change; returns the single step it made (not coalesced), or null for a plain beat. */
  add(change: RegistryChange): InstanceChange | null {
    if (change.type === 'beat') {
      // A changed instance is sent whole, and the registry updates its beat time in place.
      if (!this.changes.has(change.instanceId)) {
        this.beats.set(change.instanceId, change.time);
        if (change.metrics !== null) this.metrics.set(change.instanceId, change.metrics);
      }
      return null;
    }
    const id = change.type === 'upsert' ? change.instance.instanceId : change.instanceId;
    const before = this.known.get(id);
    const after = change.type === 'upsert' ? change.instance : undefined;
    if (after) this.known.set(id, after);
    else this.known.delete(id);
    this.beats.delete(id);
    this.metrics.delete(id);
    const pending = this.changes.get(id);
    if (!pending) {
      this.changes.set(id, { before, after });
    } else if (pending.before === undefined && after === undefined) {
      // Appeared and went within one batch: nobody needs to hear about it.
      this.changes.delete(id);
    } else {
      pending.after = after;
    }
    return { before, after };
  }

  addEvent(event: EventRecord): void {
    // Keep the newest: a burst (a mass loss) must not make one delta huge.
    if (this.events.length >= MAX_EVENTS_PER_DELTA) this.events.shift();
    this.events.push(event);
  }

  /**
   * Returns what happened since the previous call and starts a new batch, or null when nothing
   * did. Without `withEvents` the events stay for the next call that takes them.
   */
  take(withEvents = true): ChangeBatch | null {
    if (this.changes.size === 0 && this.beats.size === 0 && (!withEvents || this.events.length === 0)) return null;
    const batch: ChangeBatch = { changes: this.changes, beats: this.beats, metrics: this.metrics, events: withEvents ? this.events : [] };
    this.changes = new Map();
    this.beats = new Map();
    this.metrics = new Map();
    if (withEvents) this.events = [];
    return batch;
  }
}
