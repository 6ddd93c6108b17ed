import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { connectRedis, type RedisClient, type RedisTarget } from './redis-connection.js';
import { CLAIM_SCRIPT, SYNC_SCRIPT, fleetKeys, type FleetKeys } from './redis-scripts.js';

export interface RedisFleetOptions {
  target: RedisTarget;
  prefix: string;
  eventsMax: number;
  /** Estimated bytes (two a character) of events waiting for Redis, at most (VIGIL_EVENTS_MAX_BYTES). */
  eventsMaxBytes: number;
  tickMs: number;
  stallThresholdMs: number;
  log: Logger;
}

/** The command connection, with the store's scripts as commands (arguments as redis-scripts.ts documents them). */
export type FleetRedis = RedisClient & {
  vigilSync(...args: Array<string | number>): Promise<string[]>;
  vigilClaim(...args: Array<string | number>): Promise<[changes: string, events: string]>;
};

/** A stream entry as ioredis returns it. */
export type StreamEntry = [id: string, fields: string[]];

/**
 * What every job of the redis store shares: this replica's id, the keys, the two connections,
 * the settings, and whether this replica is reconciled with Redis.
 */
export class FleetLink {
  /** Tags this replica's feed entries and events, so it skips its own when reading them back. */
  readonly replicaId = randomUUID().slice(0, 8);
  readonly keys: FleetKeys;
  /** Writes, claims and snapshot reads. */
  readonly redis: FleetRedis;
  /** A second connection for the blocking feed read, which would hold up every command behind it. */
  readonly reader: RedisClient;
  /**
   * Reconciled with Redis since the last (re)connection: writes, claims and feed reads may run.
   * Cleared when the command connection closes; set again by a resync.
   */
  synced = false;

  constructor(readonly options: RedisFleetOptions) {
    this.keys = fleetKeys(options.prefix);
    // Fail fast while disconnected: the writes wait in the write-through's pending set, not in a client queue.
    this.redis = connectRedis(options.target, { commandTimeout: 2_000 }) as FleetRedis;
    this.redis.defineCommand('vigilSync', { numberOfKeys: 5, lua: SYNC_SCRIPT });
    this.redis.defineCommand('vigilClaim', { numberOfKeys: 7, lua: CLAIM_SCRIPT });
    this.reader = connectRedis(options.target, { commandTimeout: 5_000 });
    this.redis.on('close', () => {
      this.synced = false;
    });
  }

  get log(): Logger {
    return this.options.log;
  }
}
