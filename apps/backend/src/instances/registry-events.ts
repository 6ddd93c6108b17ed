import type { EventLevel, Instance } from '@vigil/protocol';

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

/**
 * Who hears about the registry: changes go to dashboards and the redis store's write-through,
 * events to the event log. One object the registry's parts share, so each of them reports what
 * it did without knowing who listens.
 */
export class RegistryListeners {
  private readonly changeListeners = new Set<(change: RegistryChange) => void>();
  private readonly eventListeners = new Set<(event: RegistryEvent) => void>();

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  change(change: RegistryChange): void {
    for (const listener of this.changeListeners) listener(change);
  }

  event(event: RegistryEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}
