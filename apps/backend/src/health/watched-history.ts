import type { BeatMetrics, MetricsSample } from '@vigil/protocol';
import { HISTORY_FIELD_COUNT, sampleOf } from './history-fields.js';

/** Beats a watched instance's ring holds: an hour at the default 5 s interval. */
export const WATCHED_SAMPLES = 720;

/** Instances with a ring at once (the least recently watched gives its ring up): ~52 KB each. */
export const MAX_WATCHED = 64;

interface Ring {
  times: Float64Array;
  /** HISTORY_FIELD_COUNT figures per sample; NaN: not sampled. */
  figures: Float64Array;
  head: number;
  count: number;
}

/**
 * A sample per beat, for the few instances someone looks at (a dashboard's detail view, the
 * history API): from when the looking began, in a ring of WATCHED_SAMPLES per instance, for at
 * most MAX_WATCHED instances. Every other instance has only its bucketed history.
 */
export class WatchedHistory {
  /** In order of the last time each was looked at, oldest first. */
  private readonly rings = new Map<string, Ring>();

  get size(): number {
    return this.rings.size;
  }

  /** Starts (or keeps) a ring for the instance, which becomes the most recently watched. */
  follow(instanceId: string): void {
    let ring = this.rings.get(instanceId);
    if (ring) this.rings.delete(instanceId);
    else {
      ring = {
        times: new Float64Array(WATCHED_SAMPLES),
        figures: new Float64Array(WATCHED_SAMPLES * HISTORY_FIELD_COUNT),
        head: 0,
        count: 0,
      };
      if (this.rings.size >= MAX_WATCHED) this.rings.delete(this.rings.keys().next().value!);
    }
    this.rings.set(instanceId, ring);
  }

  has(instanceId: string): boolean {
    return this.rings.has(instanceId);
  }

  /** Adds a beat's figures when the instance has a ring (one map lookup, and none while nobody watches anything). */
  record(instanceId: string, figures: BeatMetrics, now: number): void {
    if (this.rings.size === 0) return;
    const ring = this.rings.get(instanceId);
    if (!ring) return;
    const at = (ring.head + ring.count) % WATCHED_SAMPLES;
    if (ring.count < WATCHED_SAMPLES) ring.count++;
    else ring.head = (ring.head + 1) % WATCHED_SAMPLES;
    ring.times[at] = now;
    const base = at * HISTORY_FIELD_COUNT;
    for (let i = 0; i < HISTORY_FIELD_COUNT; i++) ring.figures[base + i] = figures[i] ?? NaN;
  }

  /** The instance's samples since `since`, oldest first (none without a ring). */
  read(instanceId: string, since: number): MetricsSample[] {
    const ring = this.rings.get(instanceId);
    const samples: MetricsSample[] = [];
    if (!ring) return samples;
    for (let i = 0; i < ring.count; i++) {
      const at = (ring.head + i) % WATCHED_SAMPLES;
      if (ring.times[at]! < since) continue;
      const base = at * HISTORY_FIELD_COUNT;
      samples.push(sampleOf(ring.times[at]!, (field) => (Number.isNaN(ring.figures[base + field]!) ? null : ring.figures[base + field]!)));
    }
    return samples;
  }

  forget(instanceId: string): void {
    this.rings.delete(instanceId);
  }
}
