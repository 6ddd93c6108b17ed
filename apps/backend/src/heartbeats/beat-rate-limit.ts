import { DEFAULT_HEARTBEAT_INTERVAL_MS, MIN_HEARTBEAT_INTERVAL_MS } from '@vigil/protocol';

/** Beats an instance may send back to back (re-registration after `unknown`, retries) before the rate counts. */
export const BEAT_BURST = 10;

/** How much faster than its expected interval an instance may beat, sustained, before 429. */
export const BEAT_RATE_FACTOR = 4;

/** Idle buckets are forgotten after this long: they would be full again anyway. */
const IDLE_MS = 60_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per instance id, in a map of its own (one Map lookup and some arithmetic per beat;
 * keeping the bucket on the registry's record instead saved nothing measurable, docs/benchmarks.md
 * "Rate-limit buckets in their own map"): each
 * instance may burst BEAT_BURST beats, then BEAT_RATE_FACTOR beats per expected interval (the one
 * configured for it, else the protocol's smallest, MIN_HEARTBEAT_INTERVAL_MS). An instance beating
 * far faster (Nacos #4449) is refused; the others keep their own buckets and never notice.
 */
export class BeatRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  /**
   * Takes one beat from the instance's bucket at `now`; null if allowed, else the interval to
   * tell the agent to beat at instead (slower than what it does). That interval is never more
   * than a third of the instance's lost timeout (`lostAfterMs`): a refusal must not make a live
   * instance go lost, e.g. when a backend that was stalled works through a backlog of beats its
   * agents had long given up on, and refuses the live one that follows.
   */
  take(instanceId: string, configuredIntervalMs: number | null, now: number, lostAfterMs = Number.POSITIVE_INFINITY): number | null {
    const gapMs = Math.max(MIN_HEARTBEAT_INTERVAL_MS, (configuredIntervalMs ?? 0) / BEAT_RATE_FACTOR);
    let bucket = this.buckets.get(instanceId);
    if (bucket === undefined) {
      if (now - this.lastSweep > IDLE_MS) this.sweep(now);
      bucket = { tokens: BEAT_BURST, at: now };
      this.buckets.set(instanceId, bucket);
    } else {
      bucket.tokens = Math.min(BEAT_BURST, bucket.tokens + (now - bucket.at) / gapMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return slowerInterval(configuredIntervalMs, lostAfterMs);
  }

  /** Ids tracked now (for tests: memory stays bounded by the instances beating lately). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, bucket] of this.buckets) if (now - bucket.at > IDLE_MS) this.buckets.delete(id);
  }
}

/** The interval a refused instance is told to beat at: its own, never above a third of its lost timeout. */
function slowerInterval(configuredIntervalMs: number | null, lostAfterMs: number): number {
  return Math.max(MIN_HEARTBEAT_INTERVAL_MS, Math.min(configuredIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, Math.floor(lostAfterMs / 3)));
}
