import type { InstanceRecord } from './instance-record.js';
import type { RegistryListeners } from './registry-events.js';
import type { RegistryOptions } from './registry-options.js';

/**
 * Keeps the registry from expiring a fleet for a fault of its own or of the network.
 *
 * A stall of the backend (blocked event loop, SIGSTOP, GC) shows as a long gap between two
 * ticks (`stallAt`): the lease machine then extends every lease by it. And when a large share
 * of the fleet would go lost at once, the guard enters self-preservation (`shouldHold`): the
 * machine holds overdue instances as `suspect` for a further timeout instead, until the
 * overdue share drops below the ratio again (`settle`).
 *
 * The share counts only ephemeral instances on the global timings (the "common clock"): how
 * many there are, how many of them are suspect, and when recent ones went lost.
 */
export class ExpiryGuard {
  private commonCount = 0;
  private commonSuspect = 0;
  /** Times of recent lost transitions of instances on the common clock (from index `recentLostHead` on). */
  private recentLost: number[] = [];
  private recentLostHead = 0;
  private preserving = false;
  /** Undefined until the first tick: the time the app around the registry takes to boot is no stall. */
  private lastTick: number | undefined;

  constructor(
    private readonly options: RegistryOptions,
    private readonly listeners: RegistryListeners,
  ) {}

  /** True while self-preservation holds overdue instances instead of expiring them. */
  get selfPreserving(): boolean {
    return this.preserving;
  }

  /** Adds (1) or takes back (-1) a record's part in the counts, around a change of its status or timings. */
  tally(record: InstanceRecord, sign: 1 | -1): void {
    if (!record.instance.ephemeral || record.timings !== this.options.timings) return;
    this.commonCount += sign;
    if (record.instance.status === 'suspect') this.commonSuspect += sign;
  }

  /** A record went lost at `time`. */
  noteLost(record: InstanceRecord, time: number): void {
    if (record.instance.ephemeral && record.timings === this.options.timings) this.recentLost.push(time);
  }

  /**
   * Called on every tick: how long the backend stalled before this one (the gap beyond one tick
   * period), or 0 when the gap is under the stall threshold.
   */
  stallAt(now: number): number {
    const gap = now - (this.lastTick ?? now);
    this.lastTick = now;
    return gap > this.options.stallThresholdMs ? gap - this.options.tickMs : 0;
  }

  /** After the lease machine extended every lease by a stall: recent losses move with them, and the stall is logged. */
  stalled(stallMs: number, now: number): void {
    for (let i = this.recentLostHead; i < this.recentLost.length; i++) this.recentLost[i]! += stallMs;
    this.listeners.event({
      time: now,
      level: 'important',
      type: 'backend.stall',
      message: `the backend was stalled for ${Math.round(stallMs)} ms; every lease was extended by that much`,
      attributes: { stallMs: String(Math.round(stallMs)) },
    });
  }

  /** Decides (and enters) self-preservation when an expiry is about to happen. */
  shouldHold(now: number): boolean {
    if (this.preserving) return true;
    if (!this.massExpiryLikely(now)) return false;
    this.preserving = true;
    this.listeners.event({
      time: now,
      level: 'emergency',
      type: 'self-preservation.entered',
      message:
        `${this.commonSuspect} of ${this.commonCount} instances on the global timings are overdue at once: ` +
        'holding every overdue instance as suspect for a further timeout instead of expiring it (is the network or the backend at fault?)',
      attributes: { overdue: String(this.commonSuspect), fleet: String(this.commonCount) },
    });
    return true;
  }

  /**
   * Self-preservation entered elsewhere: the redis store's claim held a mass expiry. No event
   * (the store raises none); shown by /readyz and the gauge until `settle` ends it.
   */
  heldByStore(): void {
    this.preserving = true;
  }

  /**
   * Leaves self-preservation once the overdue share is below the ratio again; `announce` logs
   * it (the registry's own tick does; a mirror of the redis store's decisions does not).
   */
  settle(now: number, announce: boolean): void {
    if (!this.preserving || this.massExpiryLikely(now)) return;
    this.preserving = false;
    if (!announce) return;
    this.listeners.event({
      time: now,
      level: 'important',
      type: 'self-preservation.left',
      message: 'beats are back to normal; overdue instances expire on time again',
    });
  }

  /**
   * True when a large share of a large enough fleet is overdue or was lost within the last interval.
   * The fleet here is the ephemeral instances on the global timings only. An instance with timings
   * of its own (Nacos metadata, which any client with a scoped token may send) runs on its own
   * clock: a 100 ms interval makes it overdue within a second, a long timeout keeps it overdue, so
   * a handful of them once held the whole fleet (a dead instance of another service stayed
   * `suspect` a further timeout). Such instances are held like the others once self-preservation
   * is on; they just cannot turn it on. Redis mode asks the same question (`expiryLooksMassive`).
   */
  massExpiryLikely(now: number): boolean {
    const { minInstances, ratio } = this.options.selfPreservation;
    const window = this.options.timings.intervalMs ?? this.options.timings.lostAfterMs / 3;
    if (this.commonCount < minInstances) return false;
    return (this.commonSuspect + this.recentLostCount(now - window)) / this.commonCount >= ratio;
  }

  private recentLostCount(since: number): number {
    while (this.recentLostHead < this.recentLost.length && (this.recentLost[this.recentLostHead] ?? 0) < since) {
      this.recentLostHead++;
    }
    if (this.recentLostHead > 1024 && this.recentLostHead * 2 > this.recentLost.length) {
      this.recentLost = this.recentLost.slice(this.recentLostHead);
      this.recentLostHead = 0;
    }
    return this.recentLost.length - this.recentLostHead;
  }
}
