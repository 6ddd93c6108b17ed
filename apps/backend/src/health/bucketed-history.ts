import type { BeatMetrics, MetricsSample } from '@vigil/protocol';
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

/** The figures kept as the worst of a bucket rather than its mean: event-loop delay p99 and max. */
const WORST_FIELDS = [5, 6];

interface Chunk {
  /** Closed buckets: BUCKETS cells of HISTORY_FIELD_COUNT codes per slot. */
  codes: Uint16Array;
  /** The newest bucket, still open: per slot and figure, the sum (mean figures) or the highest (worst figures)... */
  sums: Float32Array;
  /** ...and how many beats brought the figure. */
  counts: Uint16Array;
}

/**
 * The metrics history every instance has: per BUCKET_MS bucket, the mean of each figure over the
 * beats that fell in it, but the worst (highest) event-loop delay p99 and max, as 16-bit codes in
 * a ring of BUCKETS buckets per instance slot (the registry's slot, as the arrival log's). A beat
 * only adds its figures to the open bucket's sums (no logarithm on the beat path: encoding cost
 * 0.7 µs a beat); the bucket is encoded into the ring when the instance's first beat of a later
 * bucket comes. Off the JS heap, in chunks of CHUNK_SLOTS allocated when an instance of the chunk
 * first brings metrics: 256 B of codes, 32 B of open sums, 16 B of counts and 4 B for the newest
 * bucket's number per instance, and a beat allocates nothing.
 */
export class BucketedHistory {
  private readonly chunks: Array<Chunk | undefined> = [];
  /** Per slot: its newest bucket's number + 1 (0: nothing recorded). */
  private newest = new Uint32Array(CHUNK_SLOTS);

  /** Adds a beat's figures (METRIC_FIELDS order, whose first are HISTORY_FIELDS) at `now` (backend clock) to the slot's open bucket. */
  record(slot: number, figures: BeatMetrics, now: number): void {
    if (slot >= this.newest.length) this.grow(slot);
    const chunk = this.chunkOf(slot);
    const bucket = Math.floor(now / BUCKET_MS);
    const last = this.newest[slot]! - 1;
    if (bucket < last) return; // before the newest bucket (the clock stepped back): not worth a rewrite
    const open = (slot % CHUNK_SLOTS) * HISTORY_FIELD_COUNT;
    if (bucket > last) {
      if (last >= 0) this.close(chunk, slot, last);
      // The buckets skipped since (a silent instance) are emptied; the new one is open.
      const base = (slot % CHUNK_SLOTS) * SLOT_CODES;
      for (let b = Math.max(last + 1, bucket - BUCKETS + 1); b <= bucket; b++) {
        const cell = base + (b % BUCKETS) * HISTORY_FIELD_COUNT;
        chunk.codes.fill(NONE, cell, cell + HISTORY_FIELD_COUNT);
      }
      chunk.sums.fill(0, open, open + HISTORY_FIELD_COUNT);
      chunk.counts.fill(0, open, open + HISTORY_FIELD_COUNT);
      this.newest[slot] = bucket + 1;
    }
    const { sums, counts } = chunk;
    add(sums, counts, open, figures[0] ?? null);
    add(sums, counts, open + 1, figures[1] ?? null);
    add(sums, counts, open + 2, figures[2] ?? null);
    add(sums, counts, open + 3, figures[3] ?? null);
    add(sums, counts, open + 4, figures[4] ?? null);
    highest(sums, counts, open + 5, figures[5] ?? null);
    highest(sums, counts, open + 6, figures[6] ?? null);
    add(sums, counts, open + 7, figures[7] ?? null);
  }

  /** The slot's buckets within the last BUCKETS at `now`, oldest first, each at its start time. */
  read(slot: number, now: number): MetricsSample[] {
    const samples: MetricsSample[] = [];
    const chunk = this.chunks[(slot / CHUNK_SLOTS) | 0];
    if (slot >= this.newest.length || chunk === undefined || this.newest[slot] === 0) return samples;
    const newest = this.newest[slot]! - 1;
    const base = (slot % CHUNK_SLOTS) * SLOT_CODES;
    const open = (slot % CHUNK_SLOTS) * HISTORY_FIELD_COUNT;
    const { codes, sums, counts } = chunk;
    for (let b = Math.max(0, Math.max(newest, Math.floor(now / BUCKET_MS)) - BUCKETS + 1); b <= newest; b++) {
      if (b === newest) {
        let sampled = false;
        for (let i = 0; i < HISTORY_FIELD_COUNT; i++) if (counts[open + i]! > 0) sampled = true;
        if (sampled) samples.push(sampleOf(b * BUCKET_MS, (i) => openFigure(sums, counts, open + i, i)));
        continue;
      }
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

  private chunkOf(slot: number): Chunk {
    const index = (slot / CHUNK_SLOTS) | 0;
    return (this.chunks[index] ??= {
      codes: new Uint16Array(CHUNK_SLOTS * SLOT_CODES).fill(NONE),
      sums: new Float32Array(CHUNK_SLOTS * HISTORY_FIELD_COUNT),
      counts: new Uint16Array(CHUNK_SLOTS * HISTORY_FIELD_COUNT),
    });
  }

  /** Encodes the slot's open bucket into its cell of the ring. */
  private close(chunk: Chunk, slot: number, bucket: number): void {
    const cell = (slot % CHUNK_SLOTS) * SLOT_CODES + (bucket % BUCKETS) * HISTORY_FIELD_COUNT;
    const open = (slot % CHUNK_SLOTS) * HISTORY_FIELD_COUNT;
    for (let i = 0; i < HISTORY_FIELD_COUNT; i++) {
      const figure = openFigure(chunk.sums, chunk.counts, open + i, i);
      chunk.codes[cell + i] = figure === null ? NONE : encodeFigure(figure);
    }
  }

  private grow(slot: number): void {
    let size = this.newest.length;
    while (size <= slot) size *= 2;
    const newest = new Uint32Array(size);
    newest.set(this.newest);
    this.newest = newest;
  }
}

function add(sums: Float32Array, counts: Uint16Array, at: number, value: number | null): void {
  const count = counts[at]!;
  if (value === null || count === 0xffff) return;
  sums[at] = sums[at]! + value;
  counts[at] = count + 1;
}

function highest(sums: Float32Array, counts: Uint16Array, at: number, value: number | null): void {
  const count = counts[at]!;
  if (value === null) return;
  if (count === 0 || value > sums[at]!) sums[at] = value;
  if (count !== 0xffff) counts[at] = count + 1;
}

/** An open bucket's figure: the mean, or the worst; null when no beat brought it. */
function openFigure(sums: Float32Array, counts: Uint16Array, at: number, field: number): number | null {
  const count = counts[at]!;
  if (count === 0) return null;
  return WORST_FIELDS.includes(field) ? sums[at]! : sums[at]! / count;
}
