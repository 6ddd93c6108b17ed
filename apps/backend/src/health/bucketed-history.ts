import type { InstanceMetrics, MetricsSample } from '@vigil/protocol';
import { HISTORY_FIELD_COUNT, sampleOf } from './history-fields.js';

/** Width of one aggregate of the history every instance has. */
export const BUCKET_MS = 120_000;

/** Buckets kept per instance: the current one and fifteen whole ones, so always at least the last 30 minutes. */
export const BUCKETS = 16;

/** Slots per chunk: 4,096 instances of 16 buckets of 8 figures of 2 bytes is 1 MiB. */
const CHUNK_SLOTS = 4096;
const SLOT_CODES = BUCKETS * HISTORY_FIELD_COUNT;

/** The code of "not sampled". */
const NONE = 0xffff;
/** Codes per doubling of `1 + value`: 2 bytes hold any figure up to 2^64, off by at most 0.034 % of `1 + value`. */
const STEPS = 1024;

/** A non-negative figure as 16 bits, on a log scale: bytes, ms, % and ratios alike, off by at most 0.034 % of `1 + value` (0.0003 for a ratio). */
export function encodeFigure(value: number): number {
  return Math.min(NONE - 1, Math.round(Math.log2(1 + value) * STEPS));
}

export function decodeFigure(code: number): number {
  return 2 ** (code / STEPS) - 1;
}

/**
 * The metrics history every instance has: per BUCKET_MS bucket, the mean of each figure over the
 * beats that fell in it, but the worst (highest) event-loop delay p99 and max, as 16-bit codes in
 * a ring of BUCKETS buckets per instance slot (the registry's slot, as the arrival log's). Off the
 * JS heap, in chunks of CHUNK_SLOTS allocated when an instance of the chunk first brings metrics:
 * 256 B of figures and 6 B of bookkeeping per instance, and a beat allocates nothing.
 */
export class BucketedHistory {
  private readonly chunks: Array<Uint16Array | undefined> = [];
  /** Per slot: its newest bucket's number + 1 (0: nothing recorded). */
  private newest = new Uint32Array(CHUNK_SLOTS);
  /** Per slot: beats averaged into its newest bucket. */
  private counts = new Uint16Array(CHUNK_SLOTS);

  /** Adds a beat's metrics at `now` (backend clock) to the slot's current bucket. */
  record(slot: number, m: InstanceMetrics, now: number): void {
    if (slot >= this.newest.length) this.grow(slot);
    const chunkIndex = (slot / CHUNK_SLOTS) | 0;
    const codes = this.chunks[chunkIndex] ?? (this.chunks[chunkIndex] = new Uint16Array(CHUNK_SLOTS * SLOT_CODES).fill(NONE));
    const base = (slot % CHUNK_SLOTS) * SLOT_CODES;
    const bucket = Math.floor(now / BUCKET_MS);
    const last = this.newest[slot]! - 1;
    if (bucket < last) return; // before the newest bucket (the clock stepped back): not worth a rewrite
    if (bucket > last) {
      // The buckets skipped since (a silent instance) are emptied, then the new one.
      for (let b = Math.max(last + 1, bucket - BUCKETS + 1); b <= bucket; b++) {
        const cell = base + (b % BUCKETS) * HISTORY_FIELD_COUNT;
        codes.fill(NONE, cell, cell + HISTORY_FIELD_COUNT);
      }
      this.newest[slot] = bucket + 1;
      this.counts[slot] = 0;
    }
    const n = this.counts[slot]!;
    if (n < 0xffff) this.counts[slot] = n + 1;
    const cell = base + (bucket % BUCKETS) * HISTORY_FIELD_COUNT;
    mean(codes, cell, m.cpu, n);
    mean(codes, cell + 1, m.rss, n);
    mean(codes, cell + 2, m.heapUsed, n);
    mean(codes, cell + 3, m.heapLimit, n);
    mean(codes, cell + 4, m.eventLoopDelayP50, n);
    worst(codes, cell + 5, m.eventLoopDelayP99);
    worst(codes, cell + 6, m.eventLoopDelayMax);
    mean(codes, cell + 7, m.eventLoopUtilization, n);
  }

  /** The slot's buckets within the last BUCKETS at `now`, oldest first, each at its start time. */
  read(slot: number, now: number): MetricsSample[] {
    const samples: MetricsSample[] = [];
    const codes = this.chunks[(slot / CHUNK_SLOTS) | 0];
    if (slot >= this.newest.length || codes === undefined || this.newest[slot] === 0) return samples;
    const newest = this.newest[slot]! - 1;
    const base = (slot % CHUNK_SLOTS) * SLOT_CODES;
    for (let b = Math.max(0, Math.max(newest, Math.floor(now / BUCKET_MS)) - BUCKETS + 1); b <= newest; b++) {
      const cell = base + (b % BUCKETS) * HISTORY_FIELD_COUNT;
      let sampled = false;
      for (let i = 0; i < HISTORY_FIELD_COUNT; i++) if (codes[cell + i] !== NONE) sampled = true;
      if (!sampled) continue;
      samples.push(sampleOf(b * BUCKET_MS, (i) => (codes[cell + i] === NONE ? null : decodeFigure(codes[cell + i]!))));
    }
    return samples;
  }

  /** The slot's instance is gone: a new one in the slot starts empty. */
  release(slot: number): void {
    if (slot < this.newest.length) this.newest[slot] = 0;
  }

  private grow(slot: number): void {
    let size = this.newest.length;
    while (size <= slot) size *= 2;
    const newest = new Uint32Array(size);
    newest.set(this.newest);
    const counts = new Uint16Array(size);
    counts.set(this.counts);
    this.newest = newest;
    this.counts = counts;
  }
}

/** Folds a figure into the running mean of the `n` before it (the first of a bucket: as it is). */
function mean(codes: Uint16Array, at: number, value: number | null, n: number): void {
  if (value === null) return;
  const old = codes[at]!;
  if (old === NONE || n === 0) {
    codes[at] = encodeFigure(value);
    return;
  }
  const average = decodeFigure(old);
  codes[at] = encodeFigure(average + (value - average) / (n + 1));
}

/** Keeps the highest figure of the bucket. */
function worst(codes: Uint16Array, at: number, value: number | null): void {
  if (value === null) return;
  const code = encodeFigure(value);
  const old = codes[at]!;
  if (old === NONE || code > old) codes[at] = code;
}
