import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { EventBatch, EventRecord } from '@vigil/protocol';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceAdmission, type Client } from '../instances/instance-admission.js';
import { InstanceRegistry, type RegistryEvent } from '../instances/instance-registry.js';
import { EventQuota } from './event-quota.js';
import { EventStore, eventBytes, type EventQuery } from './event-store.js';

/** Records the events the registry derives and the ones agents send, and tells listeners (dashboards, webhooks). */
@Injectable()
export class EventsService implements OnModuleInit, OnModuleDestroy {
  readonly store: EventStore;
  private readonly listeners = new Set<(event: EventRecord) => void>();
  /** Listeners that also hear events other replicas recorded (redis store). */
  private readonly remoteListeners = new Set<(event: EventRecord) => void>();
  private readonly quota: EventQuota;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly admission: InstanceAdmission,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.store = new EventStore(config.events.max, config.events.maxAgeMs, config.eventsMaxBytes);
    this.quota = new EventQuota(config.eventBytesPerSecond);
  }

  onModuleInit(): void {
    this.unsubscribe = [
      this.registry.onEvent((event) => this.recordDerived(event)),
      this.admission.onEvent((event) => this.recordDerived(event)),
    ];
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  /**
   * Events recorded here. With `{ remote: true }`, also the ones other replicas recorded (what a
   * dashboard shows); without, only this replica's own, so an action taken per event (a webhook
   * delivery) happens once across replicas.
   */
  onEvent(listener: (event: EventRecord) => void, options: { remote?: boolean } = {}): () => void {
    const set = options.remote ? this.remoteListeners : this.listeners;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Stores an event another replica recorded (it reached this one through the shared store). */
  recordRemote(event: Omit<EventRecord, 'id'>): EventRecord {
    const record = this.store.add(event);
    for (const listener of this.remoteListeners) listener(record);
    return record;
  }

  query(q: EventQuery): { events: EventRecord[]; total: number } {
    return this.store.query(q, this.clock.now());
  }

  /**
   * Stores an agent's batch sent by `client`; `unknown` when the instance is unknown, `over-quota`
   * (nothing stored) when the client sent more event bytes lately than its quota allows.
   */
  recordBatch(batch: EventBatch, client: Client): 'recorded' | 'unknown' | 'over-quota' {
    const instance = this.registry.get(batch.instanceId);
    if (!instance) return 'unknown';
    const now = this.clock.now();
    const records = batch.events.map((event): Omit<EventRecord, 'id'> => ({
      time: now,
      level: event.level,
      type: event.type,
      origin: 'agent',
      message: event.message,
      instanceId: instance.instanceId,
      service: instance.service,
      attributes: { ...event.attributes, agentTime: String(event.time) },
    }));
    let bytes = 0;
    for (const record of records) bytes += eventBytes(record);
    if (!this.quota.take(client, bytes, now)) return 'over-quota';
    for (const record of records) this.record(record);
    if (batch.dropped > 0) {
      this.record({
        time: now,
        level: 'important',
        type: 'agent.events-dropped',
        origin: 'backend',
        message: `the agent dropped ${batch.dropped} events: its queue was full`,
        instanceId: instance.instanceId,
        service: instance.service,
        attributes: { dropped: String(batch.dropped) },
      });
    }
    return 'recorded';
  }

  /** Records an event the backend itself raises (plugin commands, webhooks...). */
  record(event: Omit<EventRecord, 'id'>): EventRecord {
    const record = this.store.add(event);
    for (const listener of this.listeners) listener(record);
    for (const listener of this.remoteListeners) listener(record);
    return record;
  }

  private recordDerived(event: RegistryEvent): void {
    this.record({
      time: event.time,
      level: event.level,
      type: event.type,
      origin: 'backend',
      message: event.message,
      ...(event.instance && { instanceId: event.instance.instanceId, service: event.instance.service }),
      attributes: event.attributes ?? {},
    });
  }
}
