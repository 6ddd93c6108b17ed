import { randomUUID } from 'node:crypto';
import { describeIssues } from '@vigil/protocol';
import type { Logger } from 'pino';
import { connectRedis, type RedisClient, type RedisTarget } from '../store/redis-connection.js';
import { storedWebhookSchema, type StoredWebhook } from './webhook-schema.js';
import type { LoadResult, WebhookSettingsStore } from './webhook-store.js';

/**
 * Webhook settings in Redis, for the redis store: every replica delivers the events it records
 * itself, so every replica needs the same webhooks. One hash field per webhook (a save writes
 * only what changed, so two replicas creating webhooks at once keep both), and a pub/sub
 * message after each save so the other replicas reload at once; they also reload after every
 * reconnection, in case they missed one.
 */
export class RedisWebhookStore implements WebhookSettingsStore {
  readonly path: string;
  private readonly key: string;
  private readonly channel: string;
  private readonly replicaId = randomUUID();
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  /** The settings as this replica last saved or loaded them, to write only the difference. */
  private known = new Map<string, string>();
  private readonly listeners = new Set<(webhooks: StoredWebhook[]) => void>();

  constructor(
    target: RedisTarget,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = `{${prefix}}:webhooks`;
    this.channel = `{${prefix}}:webhooks-changed`;
    const host = new URL(target.url.split(',')[0]!.trim());
    this.path = `${host.protocol}//${host.host} ${this.key}`;
    // Saves fail fast while Redis is away (the API answers 500, as for a full disk).
    this.redis = connectRedis(target, { commandTimeout: 2_000 });
    this.subscriber = connectRedis(target, { commandTimeout: 2_000, offlineQueue: true });
    for (const client of [this.redis, this.subscriber]) client.on('error', () => undefined); // the store's own log reports outages
    this.subscriber.on('ready', () => {
      void this.subscriber.subscribe(this.channel).catch(() => undefined);
      void this.reload();
    });
    this.subscriber.on('message', (_channel: string, from: string) => {
      if (from !== this.replicaId) void this.reload();
    });
  }

  /** Settings saved by another replica, whole, after each of its saves. */
  watch(listener: (webhooks: StoredWebhook[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async load(): Promise<LoadResult> {
    await waitReady(this.redis);
    try {
      return await this.read();
    } catch (error) {
      return {
        webhooks: [],
        problem: `cannot read ${this.path}: ${(error as Error).message}; started with no webhooks (they load when Redis answers)`,
      };
    }
  }

  async save(webhooks: StoredWebhook[]): Promise<void> {
    const next = new Map(webhooks.map((w) => [w.id, JSON.stringify(w)]));
    const multi = this.redis.multi();
    for (const [id, json] of next) if (this.known.get(id) !== json) multi.hset(this.key, id, json);
    for (const id of this.known.keys()) if (!next.has(id)) multi.hdel(this.key, id);
    multi.publish(this.channel, this.replicaId);
    const results = (await multi.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    this.known = next;
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async read(): Promise<LoadResult> {
    const fields = await this.redis.hgetall(this.key);
    const webhooks: StoredWebhook[] = [];
    const problems: string[] = [];
    for (const [id, json] of Object.entries(fields)) {
      let parsed;
      try {
        parsed = storedWebhookSchema.safeParse(JSON.parse(json));
      } catch (error) {
        problems.push(`${id}: not JSON (${(error as Error).message})`);
        continue;
      }
      if (parsed.success) webhooks.push(parsed.data);
      else problems.push(`${id}: ${describeIssues(parsed.error).join('; ')}`);
    }
    webhooks.sort((a, b) => a.createdAt - b.createdAt);
    this.known = new Map(webhooks.map((w) => [w.id, JSON.stringify(w)]));
    // A field that does not parse is left in Redis for whoever wants to repair it, and skipped.
    return problems.length > 0
      ? { webhooks, problem: `skipped unreadable webhooks in ${this.path}: ${problems.join(', ')}` }
      : { webhooks };
  }

  private async reload(): Promise<void> {
    try {
      const { webhooks, problem } = await this.read();
      if (problem) this.log.error(problem);
      for (const listener of this.listeners) listener(webhooks);
    } catch {
      // Redis away: the next reconnection reloads.
    }
  }
}

/** Waits a little for the first connection, so a boot with Redis up starts with its webhooks. */
async function waitReady(redis: RedisClient, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
