import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Heartbeat } from '@vigil/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from '../instances/instance-registry.js';

/** Prometheus metrics of the backend, served at `GET /metrics`. */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  /** Beats counted since the last scrape: the beat path adds to a plain number, a scrape moves it into the counter. */
  private readonly pendingBeats: Record<Heartbeat['kind'], number> = { full: 0, light: 0, goodbye: 0 };
  private readonly beats = (() => {
    const pending = this.pendingBeats;
    return new Counter({
      name: 'vigil_beats_received_total',
      help: 'Heartbeats received, by kind (full, light, goodbye)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const kind of ['full', 'light', 'goodbye'] as const) {
          this.labels(kind).inc(pending[kind]);
          pending[kind] = 0;
        }
      },
    });
  })();
  private readonly rejected = new Counter({
    name: 'vigil_beats_rejected_total',
    help: 'Heartbeats answered 400 (invalid body)',
    registers: [this.registry],
  });
  private readonly expiryLag = new Histogram({
    name: 'vigil_expiry_lag_seconds',
    help: 'Delay from a lease deadline (suspect or lost) to the transition',
    labelNames: ['transition'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly events = new Counter({
    name: 'vigil_events_recorded_total',
    help: 'Events recorded, by level',
    labelNames: ['level'],
    registers: [this.registry],
  });
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly instanceRegistry: InstanceRegistry,
    private readonly eventsService: EventsService,
  ) {
    const instances = instanceRegistry;
    new Gauge({
      name: 'vigil_instances',
      help: 'Known instances, by status',
      labelNames: ['status'],
      registers: [this.registry],
      collect() {
        for (const [status, count] of Object.entries(instances.countByStatus())) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'vigil_instances_by_health',
      help: 'Known instances, by what they last said of their own health (unknown: never said); fleet-level, no per-instance labels',
      labelNames: ['health'],
      registers: [this.registry],
      collect() {
        for (const [health, count] of Object.entries(instances.countByHealth())) this.set({ health }, count);
      },
    });
    new Gauge({
      name: 'vigil_self_preservation',
      help: '1 while self-preservation holds overdue instances instead of expiring them',
      registers: [this.registry],
      collect() {
        this.set(instances.selfPreserving ? 1 : 0);
      },
    });
    // Process metrics, including event-loop lag (nodejs_eventloop_lag_*), GC and memory.
    collectDefaultMetrics({ register: this.registry });
  }

  onModuleInit(): void {
    this.unsubscribe.push(
      this.instanceRegistry.onEvent((event) => {
        if (event.deadline !== undefined) {
          this.expiryLag.observe({ transition: event.type.replace('instance.', '') }, (event.time - event.deadline) / 1000);
        }
      }),
      this.eventsService.onEvent((event) => this.events.inc({ level: event.level })),
    );
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  beatReceived(kind: Heartbeat['kind']): void {
    this.pendingBeats[kind]++;
  }

  beatRejected(): void {
    this.rejected.inc();
  }
}
