import { randomUUID } from 'node:crypto';
import { describeIssues } from '@vigil/protocol';
import type { Logger } from 'pino';
import { connectRedis, type RedisClient, type RedisTarget } from '../store/redis-connection.js';
import { storedAlertRuleSchema, type StoredAlertRule } from './alert-rule-schema.js';
import type { AlertRuleStore, RuleLoadResult } from './alert-rule-store.js';

/** A replica's firing counts older than this are a dead replica's: not counted, and deleted. */
export const FIRING_STALE_MS = 30_000;

/**
 * Alert rules in Redis, for the redis store, laid out as the webhook settings are: one hash field
 * per rule (a save writes only what changed, so two replicas creating rules at once keep both),
 * and a pub/sub message after each save so the other replicas reload at once; they also reload
 * after every reconnection, in case they missed one. Every replica judges the beats it receives,
 * so every replica needs the same rules; and each publishes how many instances each rule fires
 * for there, so that any replica answers a rule's `firing` for the whole fleet.
 */
export class RedisAlertRuleStore implements AlertRuleStore {
  readonly path: string;
  private readonly key: string;
  private readonly channel: string;
  /** Hash of each replica's firing counts: field replica id, value `{ at, counts }`. */
  private readonly firingKey: string;
  private readonly replicaId = randomUUID();
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  /** The rules as this replica last saved or loaded them, to write only the difference. */
  private known = new Map<string, string>();
  private readonly listeners = new Set<(rules: StoredAlertRule[]) => void>();

  constructor(
    target: RedisTarget,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = `{${prefix}}:alert-rules`;
    this.channel = `{${prefix}}:alert-rules-changed`;
    this.firingKey = `{${prefix}}:alert-firing`;
    const host = new URL(target.url.split(',')[0]!.trim());
    this.path = `${host.protocol}//${host.host} ${this.key}`;
    // Saves fail fast while Redis is away (the API answers 500, as for a full disk).
    this.redis = connectRedis(target, { commandTimeout: 2_000 });
    this.subscriber = connectRedis(target, { commandTimeout: 2_000, offlineQueue: true });
    for (const client of [this.redis, this.subscriber]) client.on('error', () => undefined); // the fleet store's log reports outages
    this.subscriber.on('ready', () => {
      void this.subscriber.subscribe(this.channel).catch(() => undefined);
      void this.reload();
    });
    this.subscriber.on('message', (_channel: string, from: string) => {
      if (from !== this.replicaId) void this.reload();
    });
  }

  watch(listener: (rules: StoredAlertRule[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async load(): Promise<RuleLoadResult> {
    await waitReady(this.redis);
    try {
      return await this.read();
    } catch (error) {
      return {
        rules: [],
        problem: `cannot read ${this.path}: ${(error as Error).message}; started with no alert rules (they load when Redis answers)`,
      };
    }
  }

  async save(rules: StoredAlertRule[]): Promise<void> {
    const next = new Map(rules.map((rule) => [rule.id, JSON.stringify(rule)]));
    const multi = this.redis.multi();
    for (const [id, json] of next) if (this.known.get(id) !== json) multi.hset(this.key, id, json);
    for (const id of this.known.keys()) if (!next.has(id)) multi.hdel(this.key, id);
    multi.publish(this.channel, this.replicaId);
    const results = (await multi.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    this.known = next;
  }

  async shareFiring(counts: Record<string, number>, now: number): Promise<void> {
    await this.redis.hset(this.firingKey, this.replicaId, JSON.stringify({ at: now, counts }));
  }

  async othersFiring(now: number): Promise<Map<string, number>> {
    const fields = await this.redis.hgetall(this.firingKey);
    const sums = new Map<string, number>();
    const stale: string[] = [];
    for (const [replica, json] of Object.entries(fields)) {
      if (replica === this.replicaId) continue;
      const entry = parseFiring(json);
      if (!entry || now - entry.at > FIRING_STALE_MS) {
        stale.push(replica);
        continue;
      }
      for (const [rule, count] of Object.entries(entry.counts)) sums.set(rule, (sums.get(rule) ?? 0) + count);
    }
    if (stale.length > 0) await this.redis.hdel(this.firingKey, ...stale).catch(() => undefined);
    return sums;
  }

  async close(): Promise<void> {
    await this.redis.hdel(this.firingKey, this.replicaId).catch(() => undefined);
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async read(): Promise<RuleLoadResult> {
    const fields = await this.redis.hgetall(this.key);
    const rules: StoredAlertRule[] = [];
    const problems: string[] = [];
    for (const [id, json] of Object.entries(fields)) {
      let parsed;
      try {
        parsed = storedAlertRuleSchema.safeParse(JSON.parse(json));
      } catch (error) {
        problems.push(`${id}: not JSON (${(error as Error).message})`);
        continue;
      }
      if (parsed.success) rules.push(parsed.data);
      else problems.push(`${id}: ${describeIssues(parsed.error).join('; ')}`);
    }
    rules.sort((a, b) => a.createdAt - b.createdAt);
    this.known = new Map(rules.map((rule) => [rule.id, JSON.stringify(rule)]));
    // A field that does not parse is left in Redis for whoever wants to repair it, and skipped.
    return problems.length > 0 ? { rules, problem: `skipped unreadable alert rules in ${this.path}: ${problems.join(', ')}` } : { rules };
  }

  private async reload(): Promise<void> {
    try {
      const { rules, problem } = await this.read();
      if (problem) this.log.error(problem);
      for (const listener of this.listeners) listener(rules);
    } catch {
      // Redis away: the next reconnection reloads.
    }
  }
}

function parseFiring(json: string): { at: number; counts: Record<string, number> } | null {
  try {
    const entry = JSON.parse(json) as { at?: unknown; counts?: unknown };
    if (typeof entry.at !== 'number' || typeof entry.counts !== 'object' || entry.counts === null) return null;
    return { at: entry.at, counts: entry.counts as Record<string, number> };
  } catch {
    return null;
  }
}

/** Waits a little for the first connection, so a boot with Redis up starts with its rules. */
async function waitReady(redis: RedisClient, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
