import { BEAT_RESULTS, LIMITS, MAX_HEARTBEAT_INTERVAL_MS, MIN_HEARTBEAT_INTERVAL_MS, PLUGIN_COMMAND_TYPES } from '../protocol';
import type { BeatReply, ConfigDelivery, PluginCommand } from '../protocol';

export interface ParsedReply {
  reply: BeatReply;
  /** Parts of the reply that were left out because they were malformed; empty when none. */
  problems: string[];
}

/**
 * Checks a beat reply by hand (the agent does not load zod). `result` and `serverTime` are
 * required; a malformed `interval`, command or configuration delivery is left out and named in
 * `problems`, so one bad field does not cost the rest. At most LIMITS.commandsPerReply commands are taken.
 */
export function parseBeatReply(body: unknown): ParsedReply {
  const { result, serverTime, interval, commands, config } = (isObject(body) ? body : {}) as Partial<Record<keyof BeatReply, unknown>>;
  if (!BEAT_RESULTS.includes(result as BeatReply['result']) || typeof serverTime !== 'number') {
    throw new Error(`backend sent an unexpected reply: ${String(JSON.stringify(body)).slice(0, 200)}`);
  }
  const reply: BeatReply = { result: result as BeatReply['result'], serverTime };
  const problems: string[] = [];
  if (interval !== undefined) {
    if (isInterval(interval)) {
      reply.interval = interval;
    } else {
      const expected = `an integer from ${MIN_HEARTBEAT_INTERVAL_MS} to ${MAX_HEARTBEAT_INTERVAL_MS} ms`;
      problems.push(`interval ${JSON.stringify(interval)} ignored: expected ${expected}`);
    }
  }
  if (commands !== undefined) {
    if (Array.isArray(commands)) {
      const taken: PluginCommand[] = [];
      commands.slice(0, LIMITS.commandsPerReply).forEach((command: unknown, index) => {
        if (isCommand(command)) taken.push(commandOf(command));
        else problems.push(`commands[${index}] ignored: ${String(JSON.stringify(command)).slice(0, 200)}`);
      });
      reply.commands = taken;
    } else {
      problems.push('commands ignored: not an array');
    }
  }
  if (config !== undefined) takeConfig(config, reply, problems);
  return { reply, problems };
}

/**
 * A reply's configuration deliveries (at most LIMITS.plugins): their shape only; the values are
 * checked against each plugin's declared settings when applied (AgentConfigService).
 */
function takeConfig(config: unknown, reply: BeatReply, problems: string[]): void {
  if (!Array.isArray(config)) {
    problems.push('config ignored: not an array');
    return;
  }
  const taken: ConfigDelivery[] = [];
  config.slice(0, LIMITS.plugins).forEach((delivery: unknown, index) => {
    if (isDelivery(delivery)) taken.push({ plugin: delivery.plugin, version: delivery.version, values: delivery.values });
    else problems.push(`config[${index}] ignored: ${String(JSON.stringify(delivery)).slice(0, 200)}`);
  });
  reply.config = taken;
}

function isDelivery(value: unknown): value is ConfigDelivery {
  if (!isObject(value)) return false;
  const { plugin, version, values } = value;
  return isText(plugin, LIMITS.nameLength) && Number.isSafeInteger(version) && (version as number) > 0 && isObject(values);
}

function isInterval(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= MIN_HEARTBEAT_INTERVAL_MS && (value as number) <= MAX_HEARTBEAT_INTERVAL_MS;
}

function isCommand(value: unknown): value is PluginCommand {
  if (!isObject(value)) return false;
  const { id, type, plugin, version } = value;
  return (
    isText(id, LIMITS.idLength) &&
    PLUGIN_COMMAND_TYPES.includes(type as PluginCommand['type']) &&
    isText(plugin, LIMITS.nameLength) &&
    (version === undefined || isText(version, COMMAND_VERSION_LENGTH))
  );
}

/** The longest `version` a command may carry (as a plugin's version in a beat). */
const COMMAND_VERSION_LENGTH = 64;

/** The command's known fields only; `version` (install, upgrade) when it has one. */
function commandOf({ id, type, plugin, version }: PluginCommand): PluginCommand {
  return version === undefined ? { id, type, plugin } : { id, type, plugin, version };
}

function isText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
