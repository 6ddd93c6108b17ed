import type { Instance } from '@vigil/protocol';

/** How one instance is judged (read-only: instances without overrides share the defaults' object). Global defaults come from env; Nacos's metadata keys override them per instance. */
export interface Timings {
  /** Expected beat interval, or null when unknown (then it is estimated from arrivals). */
  intervalMs: number | null;
  lostAfterMs: number;
  removeAfterMs: number;
}

/** Nacos's per-instance keys (milliseconds as strings). */
export const METADATA_KEYS = {
  interval: 'preserved.heart.beat.interval',
  lostAfter: 'preserved.heart.beat.timeout',
  removeAfter: 'preserved.ip.delete.timeout',
} as const;

/**
 * How far above the global ones an instance's own lost and removal timeouts may go. Nacos lets
 * any client set them, so an agent token scoped to a few services could otherwise keep its
 * instances overdue and listed for a month (`preserved.heart.beat.timeout` of 30 days), holding
 * places under VIGIL_MAX_INSTANCES. Ten times covers real tuning (Nacos's own defaults are
 * 5 s / 15 s / 30 s); the global values are the operator's. Shorter timeouts harm no one but
 * their own instance (a cron job's 1 s under a 1 h global one), so they are kept as given.
 */
export const OVERRIDE_FACTOR = 10;

function positiveMs(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,10}$/.test(value.trim())) return null;
  const ms = Number(value);
  return ms > 0 ? ms : null;
}

/** `value`, at most `reference * OVERRIDE_FACTOR`. */
function bounded(value: number, reference: number): number {
  return Math.min(value, reference * OVERRIDE_FACTOR);
}

/**
 * Resolves an instance's timings: metadata first (the lost and removal timeouts at most
 * OVERRIDE_FACTOR times the global ones,
 * the interval to at most the instance's lost timeout), then the global defaults. A
 * removal timeout not longer than the lost timeout is raised to it, so an instance is always lost
 * before removed. Timings equal to the defaults are the defaults' object: an instance on them is
 * on the fleet's common clock (self-preservation counts only those, see expiry-guard.ts).
 */
export function timingsOf(metadata: Instance['metadata'], defaults: Timings): Timings {
  // Most instances override nothing: they share the defaults object rather than each holding a copy.
  if (
    metadata[METADATA_KEYS.lostAfter] === undefined &&
    metadata[METADATA_KEYS.removeAfter] === undefined &&
    metadata[METADATA_KEYS.interval] === undefined &&
    defaults.removeAfterMs >= defaults.lostAfterMs
  ) {
    return defaults;
  }
  const ownLostAfter = positiveMs(metadata[METADATA_KEYS.lostAfter]);
  const ownRemoveAfter = positiveMs(metadata[METADATA_KEYS.removeAfter]);
  const ownInterval = positiveMs(metadata[METADATA_KEYS.interval]);
  const lostAfterMs = ownLostAfter === null ? defaults.lostAfterMs : bounded(ownLostAfter, defaults.lostAfterMs);
  const removeAfterMs = Math.max(
    ownRemoveAfter === null ? defaults.removeAfterMs : bounded(ownRemoveAfter, defaults.removeAfterMs),
    lostAfterMs,
  );
  const intervalMs = ownInterval === null ? defaults.intervalMs : Math.min(ownInterval, lostAfterMs);
  if (intervalMs === defaults.intervalMs && lostAfterMs === defaults.lostAfterMs && removeAfterMs === defaults.removeAfterMs)
    return defaults;
  return { intervalMs, lostAfterMs, removeAfterMs };
}
