import type { BeatMetrics, MetricsSample } from '@vigil/protocol';
import { BUCKET_MS, BUCKETS, BucketedHistory } from './bucketed-history.js';
import { WatchedHistory } from './watched-history.js';

export { BUCKET_MS } from './bucketed-history.js';

/**
 * The metrics history of every instance, a side table of the registry's (keyed by the record's
 * slot, as the arrival log): bucketed aggregates for everyone (bucketed-history.ts), a sample per
 * beat for the instances someone watches (watched-history.ts). What
 * `GET /api/v1/instances/:id/metrics` answers is both, joined: the aggregates of the buckets begun
 * before the first per-beat sample, then the per-beat samples.
 */
export class MetricsHistory {
  private readonly buckets = new BucketedHistory();
  private readonly watched = new WatchedHistory();

  /** A beat's figures (METRIC_FIELDS order), at `now` (backend clock). */
  record(slot: number, instanceId: string, figures: BeatMetrics, now: number): void {
    this.buckets.record(slot, figures, now);
    this.watched.record(instanceId, figures, now);
  }

  /** Keep a sample per beat of this instance from now on (a dashboard watches it). */
  follow(instanceId: string): void {
    this.watched.follow(instanceId);
  }

  /** Instances followed beat by beat now. */
  get followed(): number {
    return this.watched.size;
  }

  /** The instance's history at `now`, oldest first: at least the last 30 minutes. */
  samples(slot: number, instanceId: string, now: number): MetricsSample[] {
    const since = (Math.floor(now / BUCKET_MS) - BUCKETS + 1) * BUCKET_MS;
    const fine = this.watched.read(instanceId, since);
    const coarse = this.buckets.read(slot, now);
    if (fine.length === 0) return coarse;
    const first = fine[0]!.t;
    return coarse.filter((sample) => sample.t < first).concat(fine);
  }

  /** The instance left the registry. */
  release(slot: number, instanceId: string): void {
    this.buckets.release(slot);
    this.watched.forget(instanceId);
  }
}
