import { randomUUID } from 'node:crypto';
import { describeIssues } from '@vigil/protocol';
import type { Logger } from 'pino';
import { connectRedis, type RedisClient, type RedisTarget } from '../store/redis-connection.js';
import { configDocumentSchema, documentKey, type ConfigDocument } from './config-document.js';
import type { ConfigLoadResult, PluginConfigStore } from './plugin-config-store.js';

/**
 * Saves a document only over the version it was made from: KEYS[1] the documents (field: the
 * document's key, value: its JSON), KEYS[2] their versions; ARGV: key, version replaced, new
 * version, JSON, channel, message. Answers 1, or the document kept now (another replica saved
 * first). One script, so the check, the write and the message to the other replicas are atomic.
 */
const SAVE_SCRIPT = `
local kept = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if kept ~= tonumber(ARGV[2]) then return redis.call('HGET', KEYS[1], ARGV[1]) or '' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

/**
 * Plugin configurations in Redis, for the redis store: every replica answers the API and makes
 * the beat replies of the instances that beat to it, so every replica holds every
 * configuration. One hash field per service and plugin, saved with a version check (above); a
 * pub/sub message after each save names the document, and the other replicas read it at once;
 * they read them all again after every reconnection, in case they missed one.
 */
export class RedisPluginConfigStore implements PluginConfigStore {
  readonly path: string;
  private readonly key: string;
  private readonly versionsKey: string;
  private readonly channel: string;
  private readonly replicaId = randomUUID();
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly listeners = new Set<(document: ConfigDocument) => void>();

  constructor(
    target: RedisTarget,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = `{${prefix}}:plugin-config`;
    this.versionsKey = `{${prefix}}:plugin-config-versions`;
    this.channel = `{${prefix}}:plugin-config-changed`;
    const host = new URL(target.url.split(',')[0]!.trim());
    this.path = `${host.protocol}//${host.host} ${this.key}`;
    // Saves fail fast while Redis is away (the API answers 500, as for a full disk).
    this.redis = connectRedis(target, { commandTimeout: 2_000 });
    this.subscriber = connectRedis(target, { commandTimeout: 2_000, offlineQueue: true });
    for (const client of [this.redis, this.subscriber]) client.on('error', () => undefined); // the fleet store's log reports outages
    this.subscriber.on('ready', () => {
      void this.subscriber.subscribe(this.channel).catch(() => undefined);
      void this.reloadAll();
    });
    this.subscriber.on('message', (_channel: string, message: string) => {
      const newline = message.indexOf('\n');
      if (newline > 0 && message.slice(0, newline) !== this.replicaId) void this.reload(message.slice(newline + 1));
    });
  }

  watch(listener: (document: ConfigDocument) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async load(): Promise<ConfigLoadResult> {
    await waitReady(this.redis);
    try {
      return await this.readAll();
    } catch (error) {
      return {
        documents: [],
        problem: `cannot read ${this.path}: ${(error as Error).message}; started without plugin configurations (they load when Redis answers)`,
      };
    }
  }

  async save(document: ConfigDocument, replaces: number): Promise<'saved' | ConfigDocument> {
    const field = documentKey(document.service, document.plugin);
    const answer = (await this.redis.eval(
      SAVE_SCRIPT,
      2,
      this.key,
      this.versionsKey,
      field,
      String(replaces),
      String(document.version),
      JSON.stringify(document),
      this.channel,
      `${this.replicaId}\n${field}`,
    )) as number | string;
    if (answer === 1) return 'saved';
    const kept = typeof answer === 'string' && answer !== '' ? this.parse(field, answer) : null;
    if (!kept) throw new Error(`${this.path} holds an unreadable configuration for ${field}; it was left as it is`);
    return kept;
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async readAll(): Promise<ConfigLoadResult> {
    const fields = await this.redis.hgetall(this.key);
    const documents: ConfigDocument[] = [];
    const problems: string[] = [];
    for (const [field, json] of Object.entries(fields)) {
      const document = this.parse(field, json, problems);
      if (document) documents.push(document);
    }
    // A field that does not parse is left in Redis for whoever wants to repair it, and skipped.
    return problems.length > 0
      ? { documents, problem: `skipped unreadable plugin configurations in ${this.path}: ${problems.join(', ')}` }
      : { documents };
  }

  private parse(field: string, json: string, problems?: string[]): ConfigDocument | null {
    let parsed;
    try {
      parsed = configDocumentSchema.safeParse(JSON.parse(json));
    } catch (error) {
      problems?.push(`${field}: not JSON (${(error as Error).message})`);
      return null;
    }
    if (parsed.success) return parsed.data;
    problems?.push(`${field}: ${describeIssues(parsed.error).join('; ')}`);
    return null;
  }

  private async reload(field: string): Promise<void> {
    try {
      const json = await this.redis.hget(this.key, field);
      const problems: string[] = [];
      const document = json === null ? null : this.parse(field, json, problems);
      if (problems.length > 0) this.log.error(`skipped an unreadable plugin configuration in ${this.path}: ${problems.join(', ')}`);
      if (document) for (const listener of this.listeners) listener(document);
    } catch {
      // Redis away: the next reconnection reads everything again.
    }
  }

  private async reloadAll(): Promise<void> {
    try {
      const { documents, problem } = await this.readAll();
      if (problem) this.log.error(problem);
      for (const document of documents) for (const listener of this.listeners) listener(document);
    } catch {
      // Redis away: the next reconnection reads everything again.
    }
  }
}

/** Waits a little for the first connection, so a boot with Redis up starts with its configurations. */
async function waitReady(redis: RedisClient, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
