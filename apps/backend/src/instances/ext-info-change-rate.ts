/** Changes a plugin may report at once before the rate applies: a status that goes `starting`, `started`, `ready` is all seen. */
export const EXT_INFO_CHANGE_BURST = 3;
/** Then one `plugin.ext-info-changed` event per plugin and instance per this long. */
export const EXT_INFO_CHANGE_EVERY_MS = 60_000;

interface Bucket {
  tokens: number;
  at: number;
  /** Changes not recorded since the last event. */
  held: number;
}

/**
 * How often a plugin's ext-info changes become events. A plugin that reports a counter in its
 * ext-info changes it with every beat; one event per change would drown the event list. Each
 * plugin of each instance has a small bucket: a few changes in a row are recorded as they come,
 * then one a minute; a change in between is held, and counted in the next event. The instance
 * itself always shows the current ext-info.
 */
export class ExtInfoChangeRate {
  private readonly buckets = new Map<string, Map<string, Bucket>>();

  constructor(
    private readonly burst = EXT_INFO_CHANGE_BURST,
    private readonly everyMs = EXT_INFO_CHANGE_EVERY_MS,
  ) {}

  /**
   * A change of `plugin`'s ext-info on `instanceId` at `now`: 0 when it is held, else how many
   * changes the event records (this one and those held before it).
   */
  admit(instanceId: string, plugin: string, now: number): number {
    let plugins = this.buckets.get(instanceId);
    if (plugins === undefined) this.buckets.set(instanceId, (plugins = new Map()));
    let bucket = plugins.get(plugin);
    if (bucket === undefined) plugins.set(plugin, (bucket = { tokens: this.burst, at: now, held: 0 }));
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) / this.everyMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      bucket.held += 1;
      return 0;
    }
    bucket.tokens -= 1;
    const changes = bucket.held + 1;
    bucket.held = 0;
    return changes;
  }

  /** The instance is gone: its buckets with it. */
  forget(instanceId: string): void {
    this.buckets.delete(instanceId);
  }
}
