import type { EventLevel, Instance, InstanceMetrics } from '@vigil/protocol';

/** What changed, for whoever pushes changes to dashboards. */
export type RegistryChange =
  | { type: 'upsert'; instance: Instance }
  | { type: 'removed'; instanceId: string }
  /**
   * A beat that renewed the lease and changed nothing else a user sees but its metrics:
   * `metrics` are the instance's when this beat brought them (null when it brought none).
   */
  | { type: 'beat'; instanceId: string; time: number; metrics: InstanceMetrics | null };

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
  private readonly metricsListeners = new Set<(instance: Instance) => void>();

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Every beat this backend took that brought metrics, after the beat was applied (not those mirrored from other replicas). */
  onMetrics(listener: (instance: Instance) => void): () => void {
    this.metricsListeners.add(listener);
    return () => this.metricsListeners.delete(listener);
  }

  metrics(instance: Instance): void {
    for (const listener of this.metricsListeners) listener(instance);
  }

  change(change: RegistryChange): void {
    for (const listener of this.changeListeners) listener(change);
  }

  event(event: RegistryEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}
