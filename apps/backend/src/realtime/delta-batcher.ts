import type { Delta, Instance } from '@vigil/protocol';
import type { RegistryChange } from '../instances/instance-registry.js';

/**
 * Coalesces registry changes between two pushes: the latest version of each changed instance,
 * removed ids, and the latest beat time of instances that only renewed. A dashboard gets one
 * delta per flush, never one message per beat.
 */
export class DeltaBatcher {
  private upserts = new Map<string, Instance>();
  private removed = new Set<string>();
  private beats = new Map<string, number>();

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
    if (this.upserts.size === 0 && this.removed.size === 0 && this.beats.size === 0) return null;
    const delta: Delta = {
      upserts: [...this.upserts.values()],
      removed: [...this.removed],
      beats: Object.fromEntries(this.beats),
      serverTime,
    };
    this.upserts = new Map();
    this.removed = new Set();
    this.beats = new Map();
    return delta;
  }
}
