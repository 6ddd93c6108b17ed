import { randomUUID } from 'node:crypto';
import { describeIssues } from '@vigil/protocol';
import type { Logger } from 'pino';
import { connectRedis, type RedisClient, type RedisTarget } from '../store/redis-connection.js';
import type { StoredCommand } from './plugin-command-log.js';
import { storedCommandSchema, type CommandChange, type CommandLoadResult, type PluginCommandStore } from './plugin-command-store.js';

/**
 * Compare-and-set of one command. KEYS: the commands hash, the change channel. ARGV: id, the
 * revision it must have, its next state as JSON, the change message. Publishing from the script
 * puts the messages in the order of the writes.
 */
const REPLACE_SCRIPT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
if cjson.decode(current).rev ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1
`;

type CommandRedis = RedisClient & { vigilCommandReplace(...args: Array<string | number>): Promise<number> };

/**
 * Plugin commands in Redis, for the redis store: one hash field per command (`{prefix}:plugin-commands`),
 * every change a compare-and-set on its `rev` (so of two replicas moving one command, one wins
 * and the other reads what it became), and a pub/sub message after each change so the other
 * replicas' logs follow at once; they reload the whole hash after every reconnection, in case
 * they missed one. The queue a beat takes commands from is the fleet store's (`cmds`, written
 * through by store/write-through.ts): this store says what each command became.
 */
export class RedisPluginCommandStore implements PluginCommandStore {
  readonly shared = true;
  readonly where: string;
  private readonly key: string;
  private readonly channel: string;
  private readonly replicaId = randomUUID();
  private readonly redis: CommandRedis;
  private readonly subscriber: RedisClient;
  private readonly listeners = new Set<(change: CommandChange) => void>();

  constructor(
    target: RedisTarget,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = `{${prefix}}:plugin-commands`;
    this.channel = `{${prefix}}:plugin-commands-changed`;
    const host = new URL(target.url.split(',')[0]!.trim());
    this.where = `${host.protocol}//${host.host} ${this.key}`;
    // Fail fast while Redis is away (the API answers 500, as for a full disk).
    this.redis = connectRedis(target, { commandTimeout: 2_000 }) as CommandRedis;
    this.redis.defineCommand('vigilCommandReplace', { numberOfKeys: 2, lua: REPLACE_SCRIPT });
    this.subscriber = connectRedis(target, { commandTimeout: 2_000, offlineQueue: true });
    for (const client of [this.redis, this.subscriber]) client.on('error', () => undefined); // the fleet store's log reports outages
    this.subscriber.on('ready', () => {
      void this.subscriber.subscribe(this.channel).catch(() => undefined);
      void this.reload();
    });
    this.subscriber.on('message', (_channel: string, message: string) => this.received(message));
  }

  watch(listener: (change: CommandChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async load(): Promise<CommandLoadResult> {
    const deadline = Date.now() + 3_000;
    while (this.redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      return await this.read();
    } catch (error) {
      return { commands: [], problem: `cannot read ${this.where}: ${(error as Error).message}; plugin commands load when Redis answers` };
    }
  }

  async add(commands: StoredCommand[]): Promise<void> {
    const multi = this.redis.multi();
    for (const command of commands) multi.hset(this.key, command.id, JSON.stringify(command));
    multi.publish(this.channel, this.message({ commands }));
    const results = (await multi.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async replace(command: StoredCommand, rev: number): Promise<boolean> {
    const json = JSON.stringify(command);
    const message = this.message({ commands: [command] });
    return (await this.redis.vigilCommandReplace(this.key, this.channel, command.id, rev, json, message)) === 1;
  }

  async get(id: string): Promise<StoredCommand | undefined> {
    const json = await this.redis.hget(this.key, id);
    if (json === null) return undefined;
    const parsed = storedCommandSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  }

  async forget(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const multi = this.redis.multi();
    multi.hdel(this.key, ...ids);
    multi.publish(this.channel, this.message({ forgotten: ids }));
    await multi.exec();
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private message(change: CommandChange): string {
    return `${this.replicaId} ${JSON.stringify(change)}`;
  }

  private received(message: string): void {
    const space = message.indexOf(' ');
    if (space < 0 || message.slice(0, space) === this.replicaId) return;
    let change: CommandChange;
    try {
      change = JSON.parse(message.slice(space + 1)) as CommandChange;
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(change);
  }

  private async read(): Promise<CommandLoadResult> {
    const fields = await this.redis.hgetall(this.key);
    const commands: StoredCommand[] = [];
    const problems: string[] = [];
    for (const [id, json] of Object.entries(fields)) {
      let parsed;
      try {
        parsed = storedCommandSchema.safeParse(JSON.parse(json));
      } catch (error) {
        problems.push(`${id}: not JSON (${(error as Error).message})`);
        continue;
      }
      if (parsed.success) commands.push(parsed.data);
      else problems.push(`${id}: ${describeIssues(parsed.error).join('; ')}`);
    }
    // A field that does not parse is left in Redis for whoever wants to repair it, and skipped.
    return problems.length > 0
      ? { commands, problem: `skipped unreadable plugin commands in ${this.where}: ${problems.join(', ')}` }
      : { commands };
  }

  private async reload(): Promise<void> {
    try {
      const { commands, problem } = await this.read();
      if (problem) this.log.error(problem);
      for (const listener of this.listeners) listener({ all: commands });
    } catch {
      // Redis away: the next reconnection reloads.
    }
  }
}
