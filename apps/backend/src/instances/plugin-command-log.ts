import type { EventRecord, PluginCommand, PluginCommandState } from '@vigil/protocol';

/** How long a command may wait for delivery, and then for its outcome (`VIGIL_COMMAND_TTL_MS`, `VIGIL_COMMAND_OUTCOME_MS`). */
export interface CommandTimings {
  ttlMs: number;
  outcomeMs: number;
}

/** Finished commands kept (the oldest finished go first); commands still queued or delivered are all kept. */
export const COMMAND_HISTORY = 5_000;

/** Commands queued or delivered at once, fleet-wide: past it a new command is refused (409). */
export const MAX_ACTIVE_COMMANDS = 50_000;

/** A command's state as stored: `rev` grows by one with each change (the compare-and-set of shared stores). */
export type StoredCommand = PluginCommandState & { rev: number };

/** Outcome events the agent sends when a command worked; `-failed` types say it did not. */
const SUCCEEDED = new Set(['plugin.installed', 'plugin.upgraded', 'plugin.uninstalled', 'plugin.enabled', 'plugin.disabled']);

export const NO_OUTCOME = 'no outcome';

/** A new queued command (the key order is the stored one). */
export function newCommand(
  fields: Pick<PluginCommandState, 'id' | 'instanceId' | 'service' | 'type' | 'plugin' | 'version'>,
  now: number,
  timings: CommandTimings,
): StoredCommand {
  return { ...fields, state: 'queued', reason: null, createdAt: now, updatedAt: now, expiresAt: now + timings.ttlMs, rev: 1 };
}

/** What the beat reply carries. */
export function wireCommand(command: StoredCommand): PluginCommand {
  return { id: command.id, type: command.type, plugin: command.plugin, ...(command.version !== null && { version: command.version }) };
}

/** The API's view: without `rev`. */
export function commandView({ rev: _rev, ...state }: StoredCommand): PluginCommandState {
  return state;
}

function change(command: StoredCommand, now: number, fields: Partial<PluginCommandState>): StoredCommand {
  return { ...command, ...fields, updatedAt: now, rev: command.rev + 1 };
}

/** Handed out in a beat reply: its outcome is due within `outcomeMs`. */
export function delivered(command: StoredCommand, now: number, timings: CommandTimings): StoredCommand | null {
  return command.state === 'queued' ? change(command, now, { state: 'delivered', expiresAt: now + timings.outcomeMs }) : null;
}

/**
 * The agent's outcome. It applies to a command queued (the outcome came before the delivery was
 * written), delivered, or given up on (`expired`, `failed: no outcome`): a late outcome is still
 * what the agent did. A finished command's own outcome is not replaced by a second one.
 */
export function finished(
  command: StoredCommand,
  outcome: 'succeeded' | 'failed',
  reason: string | null,
  now: number,
): StoredCommand | null {
  const open =
    command.state === 'queued' ||
    command.state === 'delivered' ||
    command.state === 'expired' ||
    (command.state === 'failed' && command.reason === NO_OUTCOME);
  return open ? change(command, now, { state: outcome, reason: outcome === 'failed' ? (reason ?? 'failed') : null }) : null;
}

/** Past its deadline: a queued command expires, a delivered one fails with `no outcome`. */
export function timedOut(command: StoredCommand, now: number): StoredCommand | null {
  if (now < command.expiresAt) return null;
  if (command.state === 'queued') return change(command, now, { state: 'expired', reason: 'not delivered in time' });
  if (command.state === 'delivered') return change(command, now, { state: 'failed', reason: NO_OUTCOME });
  return null;
}

/** Its instance was removed before it beat for the command. */
export function instanceGone(command: StoredCommand, now: number): StoredCommand | null {
  return command.state === 'queued' ? change(command, now, { state: 'expired', reason: 'instance removed' }) : null;
}

/**
 * The command an agent's outcome event is about, and the outcome: its attribute `command` (older
 * agents: `commandId`) names the command; `plugin.installed`, `upgraded`, `uninstalled`,
 * `enabled`, `disabled` succeed, any `plugin.*-failed` fails with the event's `reason` (or `error`).
 */
export function outcomeOf(event: EventRecord): { commandId: string; outcome: 'succeeded' | 'failed'; reason: string | null } | null {
  if (event.origin !== 'agent' || !event.type.startsWith('plugin.')) return null;
  const commandId = event.attributes.command ?? event.attributes.commandId;
  if (commandId === undefined) return null;
  if (SUCCEEDED.has(event.type)) return { commandId, outcome: 'succeeded', reason: null };
  if (event.type.endsWith('-failed')) {
    return { commandId, outcome: 'failed', reason: event.attributes.reason ?? event.attributes.error ?? event.message };
  }
  return null;
}

export interface CommandFilter {
  instanceId?: string;
  service?: string;
  plugin?: string;
}

/** Every command this backend knows, by id, with the views the API and the sweep need. */
export class PluginCommandLog {
  private readonly commands = new Map<string, StoredCommand>();
  /** Queued commands by instance: a removed instance with none (nearly all) costs one lookup. */
  private readonly queued = new Map<string, number>();

  get(id: string): StoredCommand | undefined {
    return this.commands.get(id);
  }

  /** Keeps a command's newer state (an older revision arriving late is ignored unless `force`). */
  set(command: StoredCommand, force = false): void {
    const known = this.commands.get(command.id);
    if (!force && known && known.rev > command.rev) return;
    if (known) this.count(known, -1);
    this.commands.set(command.id, command);
    this.count(command, 1);
  }

  remove(id: string): void {
    const known = this.commands.get(id);
    if (!known) return;
    this.count(known, -1);
    this.commands.delete(id);
  }

  all(): StoredCommand[] {
    return [...this.commands.values()];
  }

  /** Commands still queued or delivered. */
  active(): number {
    let count = 0;
    for (const command of this.commands.values()) if (command.state === 'queued' || command.state === 'delivered') count++;
    return count;
  }

  /** Matching commands, newest first, at most `limit`. */
  list(filter: CommandFilter, limit: number): StoredCommand[] {
    const matches: StoredCommand[] = [];
    for (const command of this.commands.values()) {
      if (filter.instanceId !== undefined && command.instanceId !== filter.instanceId) continue;
      if (filter.service !== undefined && command.service !== filter.service) continue;
      if (filter.plugin !== undefined && command.plugin !== filter.plugin) continue;
      matches.push(command);
    }
    return matches.sort(newestFirst).slice(0, limit);
  }

  /** Queued or delivered commands past their deadline. */
  due(now: number): StoredCommand[] {
    return this.all().filter((command) => (command.state === 'queued' || command.state === 'delivered') && command.expiresAt <= now);
  }

  /** The instance's queued commands, oldest first. */
  queuedFor(instanceId: string): StoredCommand[] {
    if (!this.queued.has(instanceId)) return [];
    return this.all()
      .filter((command) => command.instanceId === instanceId && command.state === 'queued')
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Every queued command by instance, oldest first: what a restart puts back in the queue. */
  queuedByInstance(): Map<string, StoredCommand[]> {
    const byInstance = new Map<string, StoredCommand[]>();
    for (const command of [...this.commands.values()].sort((a, b) => a.createdAt - b.createdAt)) {
      if (command.state !== 'queued') continue;
      const list = byInstance.get(command.instanceId) ?? [];
      list.push(command);
      byInstance.set(command.instanceId, list);
    }
    return byInstance;
  }

  /** Ids of the finished commands beyond the `keep` newest, to forget. */
  surplus(keep = COMMAND_HISTORY): string[] {
    const done = this.all().filter((command) => command.state !== 'queued' && command.state !== 'delivered');
    if (done.length <= keep) return [];
    return done
      .sort(newestFirst)
      .slice(keep)
      .map((command) => command.id);
  }

  private count(command: StoredCommand, delta: 1 | -1): void {
    if (command.state !== 'queued') return;
    const count = (this.queued.get(command.instanceId) ?? 0) + delta;
    if (count > 0) this.queued.set(command.instanceId, count);
    else this.queued.delete(command.instanceId);
  }
}

function newestFirst(a: StoredCommand, b: StoredCommand): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
