/** Same results in a row that flip an instance's health (Nacos's `checkTimes`). */
export const PROBE_FLIP_AFTER = 3;

/**
 * Flips an instance's health only after `threshold` probe results in a row that disagree with
 * it, so one lost packet or one slow answer does not make it flap.
 */
export class ProbeHysteresis {
  /** Instance id -> results in a row that disagree with its current health. */
  private readonly streaks = new Map<string, number>();

  constructor(private readonly threshold = PROBE_FLIP_AFTER) {}

  /** Records one result; answers the new health when it flips, else null. */
  record(instanceId: string, passed: boolean, healthy: boolean): boolean | null {
    if (passed === healthy) {
      this.streaks.delete(instanceId);
      return null;
    }
    const streak = (this.streaks.get(instanceId) ?? 0) + 1;
    if (streak < this.threshold) {
      this.streaks.set(instanceId, streak);
      return null;
    }
    this.streaks.delete(instanceId);
    return passed;
  }

  /** Forgets instances that are no longer probed. */
  retain(instanceIds: ReadonlySet<string>): void {
    for (const id of this.streaks.keys()) if (!instanceIds.has(id)) this.streaks.delete(id);
  }
}
