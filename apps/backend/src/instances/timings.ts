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

function positiveMs(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,10}$/.test(value.trim())) return null;
  const ms = Number(value);
  return ms > 0 ? ms : null;
}

/**
 * Resolves an instance's timings: metadata first, then the global defaults. A removal timeout
 * not longer than the lost timeout is raised to it, so an instance is always lost before removed.
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
  const lostAfterMs = positiveMs(metadata[METADATA_KEYS.lostAfter]) ?? defaults.lostAfterMs;
  const removeAfterMs = Math.max(positiveMs(metadata[METADATA_KEYS.removeAfter]) ?? defaults.removeAfterMs, lostAfterMs);
  return { intervalMs: positiveMs(metadata[METADATA_KEYS.interval]) ?? defaults.intervalMs, lostAfterMs, removeAfterMs };
}
