import { deltaSchema, describeIssues, snapshotSchema, type Instance } from '@vigil/protocol';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** What components read: immutable, and a new object only when something changed. */
export interface InstanceStoreSnapshot {
  /** Sorted by service, then host, then instance id. */
  readonly instances: readonly Instance[];
  /** False until the first snapshot arrives, so "no instances" is not claimed before we know. */
  readonly synced: boolean;
  readonly connection: ConnectionState;
  /** Server clock minus this browser's clock, in ms: server times are compared with `Date.now() + offset`. */
  readonly clockOffsetMs: number;
}

export interface InstanceStore {
  /** For `useSyncExternalStore`. */
  subscribe(listener: () => void): () => void;
  /** For `useSyncExternalStore`. */
  getSnapshot(): InstanceStoreSnapshot;
  /** Replaces every instance. Returns false (and changes nothing) when the message is invalid. */
  applySnapshot(message: unknown): boolean;
  /** Applies upserts, then removals, then beats. Returns false (and changes nothing) when invalid. */
  applyDelta(message: unknown): boolean;
  setConnection(state: ConnectionState): void;
}

export interface InstanceStoreOptions {
  /** This browser's clock; injectable so tests can pin the clock offset. */
  now?: () => number;
  /** Where invalid messages are reported. */
  warn?: (message: string) => void;
}

const collator = new Intl.Collator('en', { numeric: true });

function compareInstances(a: Instance, b: Instance): number {
  return (
    collator.compare(a.service, b.service) ||
    collator.compare(a.hostName, b.hostName) ||
    collator.compare(a.instanceId, b.instanceId)
  );
}

export function createInstanceStore(options: InstanceStoreOptions = {}): InstanceStore {
  const now = options.now ?? Date.now;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const listeners = new Set<() => void>();

  // The map is mutated in place; what leaves the store is the immutable snapshot built from it.
  const byId = new Map<string, Instance>();
  let dataVersion = 0;
  let sorted: readonly Instance[] = [];
  let sortedVersion = 0;
  let synced = false;
  let connection: ConnectionState = 'connecting';
  let clockOffsetMs = 0;
  let snapshot: InstanceStoreSnapshot | null = null;

  function publish(dataChanged: boolean): void {
    if (dataChanged) dataVersion++;
    snapshot = null;
    for (const listener of listeners) listener();
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    getSnapshot() {
      if (snapshot === null) {
        // Sorting is the costly part, so it runs once per data change, not per connection change.
        if (sortedVersion !== dataVersion) {
          sorted = [...byId.values()].sort(compareInstances);
          sortedVersion = dataVersion;
        }
        snapshot = Object.freeze({ instances: sorted, synced, connection, clockOffsetMs });
      }
      return snapshot;
    },

    applySnapshot(message) {
      const parsed = snapshotSchema.safeParse(message);
      if (!parsed.success) {
        warn(`vigil: ignored an invalid snapshot: ${describeIssues(parsed.error).join('; ')}`);
        return false;
      }
      byId.clear();
      for (const instance of parsed.data.instances) byId.set(instance.instanceId, instance);
      clockOffsetMs = parsed.data.serverTime - now();
      synced = true;
      publish(true);
      return true;
    },

    applyDelta(message) {
      const parsed = deltaSchema.safeParse(message);
      if (!parsed.success) {
        warn(`vigil: ignored an invalid delta: ${describeIssues(parsed.error).join('; ')}`);
        return false;
      }
      const { upserts, removed, beats, serverTime } = parsed.data;
      let changed = upserts.length > 0;
      for (const instance of upserts) byId.set(instance.instanceId, instance);
      for (const id of removed) changed = byId.delete(id) || changed;
      for (const [id, lastHeartbeatTime] of Object.entries(beats)) {
        const known = byId.get(id);
        // An unknown id waits for its upsert; a beat never moves the time backwards
        // (an upsert in the same delta may already carry a later one).
        if (known === undefined || lastHeartbeatTime <= known.lastHeartbeatTime) continue;
        byId.set(id, { ...known, lastHeartbeatTime });
        changed = true;
      }
      clockOffsetMs = serverTime - now();
      publish(changed);
      return true;
    },

    setConnection(state) {
      if (state === connection) return;
      connection = state;
      publish(false);
    },
  };
}
