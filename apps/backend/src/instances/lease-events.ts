/**
 * The wording of the lease machine's events, shared by its two engines: the registry's lease
 * table (in memory) and the redis store's claim script (Lua, store/redis-scripts.ts). An event
 * log must read the same whichever replica or store made a transition, so both take their
 * types and sentences from here; lease-scenarios.test.ts runs one table of scenarios through both.
 */
export const LEASE_EVENT_TYPES = {
  suspect: 'instance.suspect',
  lost: 'instance.lost',
  removed: 'instance.removed',
} as const;

/** Why an instance turned suspect or lost: how long it had been silent at its deadline. */
export function silentFor(silentMs: number | string): string {
  return `no beat for ${silentMs} ms`;
}

/** Why an instance left the registry: `lost`, `offline` (it said goodbye) or `deregistered` (Nacos). */
export function removedFor(reason: string): string {
  return `removed (${reason})`;
}

/** Stands for a Lua expression while a sentence is built, then is cut out again. */
const HOLE = '\u0000';

/**
 * The sentence `wording` makes, as a Lua expression concatenating its fixed parts with the
 * expression `lua`: `luaSentence(silentFor, 'deadline - l.b')` is
 * `"no beat for " .. (deadline - l.b) .. " ms"`. The claim script is built with it, so the
 * sentence is written once.
 */
export function luaSentence(wording: (value: string) => string, lua: string): string {
  const parts = wording(HOLE).split(HOLE);
  return parts.map((part) => JSON.stringify(part)).join(` .. (${lua}) .. `);
}
