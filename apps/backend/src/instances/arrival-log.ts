/**
 * The recent beat arrival times of every instance, in one place: a ring of `size` times per
 * instance, all rings in one Float64Array (off the JS heap) that grows by doubling. An instance
 * holds a slot number instead of an array of its own, so a beat writes one number and allocates
 * nothing, and a fleet of 300,000 instances is one buffer for the garbage collector, not 300,000
 * arrays (which also had to be reallocated as `shift` + `push` outgrew them).
 */
export class ArrivalLog {
  private times: Float64Array;
  /** Per slot: index of the oldest time in its ring. */
  private heads: Uint16Array;
  /** Per slot: times held (0 to size). */
  private counts: Uint16Array;
  private capacity: number;
  private used = 0;
  private readonly free: number[] = [];

  constructor(
    private readonly size: number,
    initialSlots = 1024,
  ) {
    if (!Number.isInteger(size) || size < 1 || size > 65_535) throw new RangeError(`arrival history size must be 1..65535, got ${size}`);
    this.capacity = Math.max(1, initialSlots);
    this.times = new Float64Array(this.capacity * size);
    this.heads = new Uint16Array(this.capacity);
    this.counts = new Uint16Array(this.capacity);
  }

  /** Slots in use. */
  get slots(): number {
    return this.used - this.free.length;
  }

  /** A new, empty slot. */
  allocate(): number {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.capacity) this.grow();
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
    const size = this.size;
    const count = this.counts[slot]!;
    const head = this.heads[slot]!;
    if (count < size) {
      this.times[slot * size + ((head + count) % size)] = time;
      this.counts[slot] = count + 1;
    } else {
      this.times[slot * size + head] = time;
      this.heads[slot] = (head + 1) % size;
    }
  }

  /** The slot's times, oldest first. */
  list(slot: number): number[] {
    const size = this.size;
    const count = this.counts[slot]!;
    const head = this.heads[slot]!;
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = this.times[slot * size + ((head + i) % size)]!;
    return out;
  }

  /**
   * The beat interval estimated from the slot's arrivals: the median of the last three gaps
   * (robust to one long gap, such as the one before a recovery); null until there are two.
   */
  estimatedInterval(slot: number): number | null {
    const size = this.size;
    const count = this.counts[slot]!;
    if (count < 2) return null;
    const base = slot * size;
    const head = this.heads[slot]!;
    const at = (i: number) => this.times[base + ((head + i) % size)]!;
    const a = at(count - 1) - at(count - 2);
    if (count < 4) return a;
    const b = at(count - 2) - at(count - 3);
    const c = at(count - 3) - at(count - 4);
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const times = new Float64Array(capacity * this.size);
    times.set(this.times);
    const heads = new Uint16Array(capacity);
    heads.set(this.heads);
    const counts = new Uint16Array(capacity);
    counts.set(this.counts);
    this.times = times;
    this.heads = heads;
    this.counts = counts;
    this.capacity = capacity;
  }
}
