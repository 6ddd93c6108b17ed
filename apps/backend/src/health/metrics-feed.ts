import { Injectable } from '@nestjs/common';
import type { InstanceMetrics } from '@vigil/protocol';

/**
 * One instance's metrics as a beat brought them (issue 21). `metrics` is the instance's own
 * metrics view, which reads the latest figures (health/metrics-table.ts): read what you need
 * during the call; to keep a copy, take the fields one by one (a spread or
 * `structuredClone` of the view copies none of its figures, which are getters).
 */
export interface MetricsSample {
  instanceId: string;
  service: string;
  metrics: InstanceMetrics;
}

/**
 * Where the beat path hands each instance's new metrics to whoever follows them (alert rules), so
 * that the registry knows nothing of its readers. Listeners run synchronously on the beat path:
 * they must be cheap and must not throw (a throw is caught and counted, never fails the beat).
 */
@Injectable()
export class MetricsFeed {
  private readonly listeners: Array<(sample: MetricsSample) => void> = [];
  private failures = 0;

  subscribe(listener: (sample: MetricsSample) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** True when someone subscribed: the beat path builds no sample otherwise. */
  get listening(): boolean {
    return this.listeners.length > 0;
  }

  publish(sample: MetricsSample): void {
    for (const listener of this.listeners) {
      try {
        listener(sample);
      } catch {
        this.failures += 1;
      }
    }
  }

  /** Listener calls that threw (for /metrics and tests). */
  get listenerFailures(): number {
    return this.failures;
  }
}
