import type { Delta, EventRecord, Instance } from '@vigil/protocol';
import type { RegistryChange } from '../instances/instance-registry.js';

/** Events carried by one delta at most; the events API has them all. */
export const MAX_EVENTS_PER_DELTA = 200;

/**
 * Coalesces registry changes between two pushes: the latest version of each changed instance,
 * removed ids, the latest beat time of instances that only renewed, and new events. A dashboard
 * gets one delta per flush, never one message per beat.
 */
export class DeltaBatcher {
  private upserts = new Map<string, Instance>();
  private removed = new Set<string>();
  private beats = new Map<string, number>();
  private events: EventRecord[] = [];

  addEvent(event: EventRecord): void {
    // Keep the newest: a burst (a mass loss) must not make one delta huge.
    if (this.events.length >= MAX_EVENTS_PER_DELTA) this.events.shift();
    this.events.push(event);
  }

  add(change: RegistryChange): void {
    switch (change.type) {
      case 'upsert': {
        const id = change.instance.instanceId;
        this.upserts.set(id, change.instance);
        this.removed.delete(id);
        this.beats.delete(id);
        break;
      }
      case 'removed':
        this.upserts.delete(change.instanceId);
        this.beats.delete(change.instanceId);
        this.removed.add(change.instanceId);
        break;
      case 'beat': {
        // The upserted record already carries the newest beat time (the registry updates it in place).
        if (!this.upserts.has(change.instanceId)) this.beats.set(change.instanceId, change.time);
        break;
      }
    }
  }

  /** Returns the pending delta and starts a new batch, or null when nothing changed. */
  take(serverTime: number): Delta | null {
    if (this.upserts.size === 0 && this.removed.size === 0 && this.beats.size === 0 && this.events.length === 0) {
      return null;
    }
    const delta: Delta = {
      upserts: [...this.upserts.values()],
      removed: [...this.removed],
      beats: Object.fromEntries(this.beats),
      events: this.events,
      serverTime,
    };
    this.upserts = new Map();
    this.removed = new Set();
    this.beats = new Map();
    this.events = [];
    return delta;
  }
}
