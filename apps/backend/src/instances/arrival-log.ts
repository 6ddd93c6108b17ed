import { MIN_HEARTBEAT_INTERVAL_MS } from '@vigil/protocol';

/** Gaps between arrivals shorter than this are a backlog or retries, not the beat schedule (half the protocol's smallest interval). */
export const BURST_GAP_MS = MIN_HEARTBEAT_INTERVAL_MS / 2;

/** Slots per chunk of the log: 4,096 rings of 32 times is 512 KiB. */
const CHUNK_SLOTS = 4096;

/** Times are kept as whole ms from a base 2^31 ms (24.8 days) before the log's first time... */
const HALF_RANGE = 2 ** 31;
/** ...and the base moves on once a time is this far past it (the rings are shifted to match). */
const REBASE_AT = 2 ** 32 - 2 ** 30;

/**
 * The recent beat arrival times of every instance, in one place: a ring of `size` times per
 * instance, the rings in Uint32Array chunks of CHUNK_SLOTS (off the JS heap; whole ms from a
 * moving base, 4 bytes a time instead of 8), added as the fleet grows. An instance holds a slot number instead of an array of its own, so a beat writes one
 * number and allocates nothing, and a fleet of 300,000 instances is 74 buffers for the garbage
 * collector, not 300,000 arrays (which also had to be reallocated as `shift` + `push` outgrew
 * them). Growing never copies, and wastes at most one chunk.
 */
export class ArrivalLog {
  private readonly chunks: Uint32Array[] = [];
  /** Epoch ms that a stored 0 stands for; NaN until the first time is pushed. */
  private base = Number.NaN;
  /** Per slot: index of the oldest time in its ring. */
  private heads: Uint16Array;
  /** Per slot: times held (0 to size). */
  private counts: Uint16Array;
  private used = 0;
  private readonly free: number[] = [];

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 65_535) throw new RangeError(`arrival history size must be 1..65535, got ${size}`);
    this.heads = new Uint16Array(CHUNK_SLOTS);
    this.counts = new Uint16Array(CHUNK_SLOTS);
  }

  /** Slots in use. */
  get slots(): number {
    return this.used - this.free.length;
  }

  /** A new, empty slot. */
  allocate(): number {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.chunks.length * CHUNK_SLOTS) this.grow();
    this.heads[slot] = 0;
    this.counts[slot] = 0;
    return slot;
  }

  /** Gives a slot back (its instance is gone). */
  release(slot: number): void {
    this.counts[slot] = 0;
    this.free.push(slot);
  }

  /** Appends a time, dropping the oldest when the ring is full. */
  push(slot: number, time: number): void {
    if (!(time - this.base < REBASE_AT)) this.rebase(time);
    const size = this.size;
    const times = this.chunks[(slot / CHUNK_SLOTS) | 0]!;
    const base = (slot % CHUNK_SLOTS) * size;
    const count = this.counts[slot]!;
    const head = this.heads[slot]!;
    // Times from before the base (a replica's clock far behind) are kept as the base itself.
    const stored = Math.max(0, Math.round(time - this.base));
    if (count < size) {
      times[base + ((head + count) % size)] = stored;
      this.counts[slot] = count + 1;
    } else {
      times[base + head] = stored;
      this.heads[slot] = (head + 1) % size;
    }
  }

  /** The slot's times, oldest first. */
  list(slot: number): number[] {
    const out = new Array<number>(this.counts[slot]!);
    for (let i = 0; i < out.length; i++) out[i] = this.at(slot, i);
    return out;
  }

  /**
   * The beat interval estimated from the slot's arrivals: the median of the last three gaps
   * (robust to one long gap, such as the one before a recovery); null until there is one. Gaps
   * shorter than BURST_GAP_MS are skipped: no agent beats that fast on schedule, so they are
   * beats that queued up and arrived back to back (after a stall of the backend or the network,
   * retries). Counted, they made the estimate ~0 and the suspect rule fall to its 1 s floor: live
   * instances went suspect just after a stall. Skipping walks back at most the ring, allocating nothing.
   */
  estimatedInterval(slot: number): number | null {
    const count = this.counts[slot]!;
    let a = -1;
    let b = -1;
    let newer = count > 0 ? this.at(slot, count - 1) : 0;
    for (let i = count - 2; i >= 0; i--) {
      const time = this.at(slot, i);
      const gap = newer - time;
      newer = time;
      if (gap < BURST_GAP_MS) continue;
      if (a < 0) a = gap;
      else if (b < 0) b = gap;
      else return Math.max(Math.min(a, b), Math.min(Math.max(a, b), gap));
    }
    // Fewer than three gaps: the newest one (as before); only bursts so far: nothing known yet.
    return a < 0 ? null : a;
  }

  /** The slot's i-th time, oldest first. */
  private at(slot: number, i: number): number {
    const size = this.size;
    return this.base + this.chunks[(slot / CHUNK_SLOTS) | 0]![(slot % CHUNK_SLOTS) * size + ((this.heads[slot]! + i) % size)]!;
  }

  /**
   * Moves the base so that `time` is HALF_RANGE past it (first push: sets it). Every 24.8 days of
   * uptime, one pass over the rings; times older than the new base (none a beating instance
   * still holds: a ring spans its last 32 beats) become the base.
   */
  private rebase(time: number): void {
    const next = time - HALF_RANGE;
    if (!Number.isNaN(this.base)) {
      const shift = next - this.base;
      for (const chunk of this.chunks) for (let i = 0; i < chunk.length; i++) chunk[i] = Math.max(0, chunk[i]! - shift);
    }
    this.base = next;
  }

  private grow(): void {
    this.chunks.push(new Uint32Array(CHUNK_SLOTS * this.size));
    const slots = this.chunks.length * CHUNK_SLOTS;
    if (slots > this.heads.length) {
      const heads = new Uint16Array(slots * 2);
      heads.set(this.heads);
      const counts = new Uint16Array(slots * 2);
      counts.set(this.counts);
      this.heads = heads;
      this.counts = counts;
    }
  }
}
