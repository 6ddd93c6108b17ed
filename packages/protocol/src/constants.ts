/**
 * Runtime constants of the Vigil protocol. This module must stay free of zod (and of any
 * dependency) because the agent loads it inside users' services.
 */

/** Version of the heartbeat message format; carried in every beat as `v`. */
export const PROTOCOL_VERSION = 1 as const;

/** HTTP path agents send beats to (PUT, JSON body). */
export const HEARTBEAT_PATH = '/api/v1/heartbeat';

/** REST path listing instances. */
export const INSTANCES_PATH = '/api/v1/instances';

/** Instance statuses, as shown to users (a word, never only a colour). */
export const INSTANCE_STATUSES = ['healthy', 'lost'] as const;

/** Answers to a beat: a full beat registers or renews; a light beat for an unknown instance gets `unknown`. */
export const BEAT_RESULTS = ['registered', 'renewed', 'unknown'] as const;

/** Defaults shared by agent and backend docs. */
export const DEFAULT_BACKEND_PORT = 8900;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
export const DEFAULT_LOST_AFTER_MS = 15_000;
export const DEFAULT_REMOVE_AFTER_MS = 600_000;

/** Limits on a beat; the schema enforces them and the docs list them. */
export const LIMITS = {
  idLength: 128,
  nameLength: 256,
  hostNameLength: 255,
  ips: 64,
  plugins: 128,
  extInfoEntries: 64,
  extInfoKeyLength: 128,
  extInfoValueLength: 1024,
  beatBodyBytes: 256 * 1024,
} as const;
