import type { Instance } from '@vigil/protocol';
import type { InstanceInput } from './instance-record.js';

/**
 * Fields of an Instance that are not its identity: the registry's (its lease), and what beats say
 * of its state (metrics, health), which the lease machine compares on its own.
 */
const LEASE_FIELDS = new Set(['status', 'registeredAt', 'lastHeartbeatTime', 'statusSince', 'metrics', 'health']);

/**
 * True when a reported identity is the one the instance has (every reported field equal, and no
 * reported field gone): a full beat that changes nothing a user sees is a plain renewal. Compared
 * field by field on every full beat, rather than through a fingerprint stored per instance.
 */
export function sameInput(input: InstanceInput, instance: Instance): boolean {
  return sameFields(input, instance, LEASE_FIELDS);
}

/** Deep equality of JSON-like values (parsed bodies): key order does not matter, undefined = absent. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  return sameFields(a, b);
}

/** Every defined field of `a` equals `b`'s, and `b` has no other defined field (but those in `ignored`). */
function sameFields(a: object, b: object, ignored?: ReadonlySet<string>): boolean {
  let fields = 0;
  for (const key in a) {
    const value = (a as Record<string, unknown>)[key];
    if (value === undefined) continue;
    fields++;
    if (!sameJson(value, (b as Record<string, unknown>)[key])) return false;
  }
  for (const key in b) if ((b as Record<string, unknown>)[key] !== undefined && !ignored?.has(key)) fields--;
  return fields === 0;
}
