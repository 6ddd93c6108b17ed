import { LIMITS } from '../protocol';

export interface NormalizedExtInfo {
  info: Record<string, string>;
  /** What had to be dropped or cut to fit the protocol limits; empty when nothing was. */
  problems: string[];
}

/**
 * Turns what a provider returned into the wire's string -> string map, sorted by key so an
 * unchanged map always serialises the same way (light beats depend on that). It is held to the
 * protocol limits here because the backend rejects a whole beat with one oversized entry.
 * Event attributes have the same key and value limits, with fewer entries (`maxEntries`).
 * Throws if `raw` is neither a plain object nor a Map.
 */
export function normalizeExtInfo(raw: unknown, maxEntries: number = LIMITS.extInfoEntries): NormalizedExtInfo {
  const problems: string[] = [];
  const entries: [string, string][] = [];
  for (const [rawKey, rawValue] of entriesOf(raw)) {
    if (rawValue === undefined) continue;
    const key = String(rawKey);
    if (key.length === 0 || key.length > LIMITS.extInfoKeyLength) {
      problems.push(`key ${JSON.stringify(key.slice(0, 32))} dropped: keys are 1-${LIMITS.extInfoKeyLength} characters`);
      continue;
    }
    let value = stringify(rawValue);
    if (value.length > LIMITS.extInfoValueLength) {
      problems.push(`value of ${key} cut to ${LIMITS.extInfoValueLength} characters`);
      value = value.slice(0, LIMITS.extInfoValueLength);
    }
    entries.push([key, value]);
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length > maxEntries) {
    problems.push(`${entries.length - maxEntries} entries dropped: at most ${maxEntries}`);
    entries.length = maxEntries;
  }
  // fromEntries defines own properties, so a key like `__proto__` stays an ordinary entry.
  return { info: Object.fromEntries(entries), problems };
}

function entriesOf(raw: unknown): Iterable<[unknown, unknown]> {
  if (raw instanceof Map) return raw.entries();
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return Object.entries(raw);
  throw new TypeError(`ext-info must be a plain object or a Map, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value) ?? String(value);
  return String(value);
}
