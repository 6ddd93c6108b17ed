import type { Client } from '../instances/instance-admission.js';

/** The smallest burst: the estimated bytes of the widest batch one request can carry fit in it. */
export const MIN_EVENT_BURST_BYTES = 4 * 1024 * 1024;

/** Seconds of the rate a client may send at once. */
const BURST_SECONDS = 10;

/** Buckets idle this long are full again anyway: forgotten. */
const IDLE_MS = 60_000;

interface Bucket {
  bytes: number;
  at: number;
}

/**
 * A token bucket of event bytes (estimated as the store counts them, `eventBytes`) per client
 * (agent token, or address without one): `bytesPerSecond` sustained, ten seconds of it (at least
 * MIN_EVENT_BURST_BYTES) at once. One client flooding events is refused (429) before it flushes
 * every other client's events out of the byte-bounded store.
 */
export class EventQuota {
  private readonly buckets = new Map<Client, Bucket>();
  private readonly burst: number;
  private lastSweep = 0;

  constructor(private readonly bytesPerSecond: number) {
    this.burst = Math.max(MIN_EVENT_BURST_BYTES, bytesPerSecond * BURST_SECONDS);
  }

  /** Takes `bytes` from the client's bucket at `now`; false (nothing taken) when it has not that many. */
  take(client: Client, bytes: number, now: number): boolean {
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (now - this.lastSweep > IDLE_MS) this.sweep(now);
      bucket = { bytes: this.burst, at: now };
      this.buckets.set(client, bucket);
    } else {
      bucket.bytes = Math.min(this.burst, bucket.bytes + ((now - bucket.at) * this.bytesPerSecond) / 1000);
      bucket.at = now;
    }
    if (bucket.bytes < bytes) return false;
    bucket.bytes -= bytes;
    return true;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [client, bucket] of this.buckets) if (now - bucket.at > IDLE_MS) this.buckets.delete(client);
  }
}
