/**
 * Deadlines for many keys, fired at (never before) their time, with O(1) work per renewal.
 *
 * A hashed timing wheel keyed by absolute slot number: a key sits in the bucket of the slot
 * its deadline falls in. Buckets are keyed by absolute slot (not slot modulo a ring size), so a
 * tick that runs late, after the event loop was blocked, still finds every bucket it skipped
 * and fires none of them early. Each key also keeps its exact deadline, re-checked on firing.
 *
 * Moving a deadline later (what every renewal does) is lazy: only the exact deadline changes, and
 * the key stays in its earlier bucket; when that bucket comes up, the key is found not yet due and
 * moves to the bucket of its deadline then. A key renewed every interval with a deadline a few
 * intervals ahead therefore costs one bucket move per deadline passed, not a remove and an insert
 * per renewal. Only a deadline moved earlier moves the key at once.
 */
/** What a key of a LeaseTable carries: its lease lives on the key itself, so a renewal looks nothing up. */
export interface Leased {
  /** Exact deadline (epoch ms); meaningful while `leaseSlot` is not NO_SLOT. */
  leaseDeadline: number;
  /** The bucket the key sits in, or NO_SLOT when it has no deadline. */
  leaseSlot: number;
}

/** `leaseSlot` of a key without a deadline. */
export const NO_SLOT = -1;

export class LeaseTable<K extends Leased> {
  private readonly buckets = new Map<number, Set<K>>();
  private count = 0;
  /** Last slot whose bucket has been fully processed. */
  private processedSlot: number;

  constructor(
    private readonly slotMs: number,
    now: number,
  ) {
    this.processedSlot = Math.floor(now / slotMs);
  }

  get size(): number {
    return this.count;
  }

  deadlineOf(key: K): number | undefined {
    return key.leaseSlot === NO_SLOT ? undefined : key.leaseDeadline;
  }

  /** Sets (or moves) the key's deadline. */
  schedule(key: K, deadline: number): void {
    // A key whose deadline falls in an already processed slot goes in the next one to process.
    const slot = this.slotOf(deadline);
    key.leaseDeadline = deadline;
    if (key.leaseSlot !== NO_SLOT) {
      // Later (or the same slot): the key's current bucket comes up first and moves it then.
      if (slot >= key.leaseSlot) return;
      this.detach(key, key.leaseSlot);
    } else {
      this.count++;
    }
    key.leaseSlot = slot;
    this.attach(key, slot);
  }

  cancel(key: K): void {
    if (key.leaseSlot === NO_SLOT) return;
    this.detach(key, key.leaseSlot);
    key.leaseSlot = NO_SLOT;
    this.count--;
  }

  /**
   * Removes every key whose deadline is <= now and hands it to `fire`, in deadline order.
   * `fire` may schedule the key again (for its next transition).
   */
  expire(now: number, fire: (key: K, deadline: number) => void): void {
    const lastSlot = Math.floor(now / this.slotMs);
    if (lastSlot <= this.processedSlot) return;
    // After a long gap, walking the bucket keys beats walking every slot number.
    const slots =
      lastSlot - this.processedSlot > this.buckets.size
        ? [...this.buckets.keys()].filter((s) => s <= lastSlot).sort((a, b) => a - b)
        : range(this.processedSlot + 1, lastSlot);
    this.processedSlot = lastSlot;
    const due: Array<[K, number]> = [];
    for (const slot of slots) {
      const bucket = this.buckets.get(slot);
      if (!bucket) continue;
      this.buckets.delete(slot);
      for (const key of bucket) {
        if (key.leaseSlot !== slot) continue;
        if (key.leaseDeadline > now) {
          // Not due yet (moved later since it was put here, or later within this slot): to its bucket.
          key.leaseSlot = this.slotOf(key.leaseDeadline);
          this.attach(key, key.leaseSlot);
          continue;
        }
        key.leaseSlot = NO_SLOT;
        this.count--;
        due.push([key, key.leaseDeadline]);
      }
    }
    // A key moved later may sit in an earlier bucket than a key due before it: fire by deadline.
    if (due.length > 1) due.sort((a, b) => a[1] - b[1]);
    for (const [key, deadline] of due) fire(key, deadline);
  }

  /** The bucket a deadline belongs in: never one already processed. */
  private slotOf(deadline: number): number {
    return Math.max(Math.ceil(deadline / this.slotMs), this.processedSlot + 1);
  }

  private attach(key: K, slot: number): void {
    let bucket = this.buckets.get(slot);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(slot, bucket);
    }
    bucket.add(key);
  }

  private detach(key: K, slot: number): void {
    const bucket = this.buckets.get(slot);
    if (!bucket) return;
    bucket.delete(key);
    if (bucket.size === 0) this.buckets.delete(slot);
  }
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i <= to; i++) yield i;
}
