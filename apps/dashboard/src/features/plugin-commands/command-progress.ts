import type { EventRecord } from '@vigil/protocol';
import type { CommandFilter, CommandState, PluginCommandState } from './commands-api';

/** The agent's outcome events that say a command was carried out (any `plugin.*-failed` says it was not). */
const SUCCEEDED = new Set(['plugin.installed', 'plugin.upgraded', 'plugin.uninstalled', 'plugin.enabled', 'plugin.disabled']);

export const isFinal = (state: CommandState) => state === 'succeeded' || state === 'failed' || state === 'expired';

/** Install, upgrade, uninstall (disable and enable keep their outcome beside their button). */
export const isLifecycle = (command: { type: string }) => /^plugin\.(install|upgrade|uninstall)$/.test(command.type);

/** The action a command's type names: `plugin.install` -> `install`. */
export const actionOf = (type: string) => (type.startsWith('plugin.') ? type.slice('plugin.'.length) : type);

/**
 * The command an agent's outcome event answers, when it is one: its id (attribute `command`;
 * older agents: `commandId`), and what it says, as the backend reads it.
 */
export function outcomeOf(event: EventRecord): { commandId: string; state: CommandState; reason: string | null } | null {
  if (event.origin !== 'agent' || !event.type.startsWith('plugin.')) return null;
  const commandId = event.attributes.command ?? event.attributes.commandId;
  if (!commandId) return null;
  if (SUCCEEDED.has(event.type)) {
    const leaked = event.attributes.leaked;
    return { commandId, state: 'succeeded', reason: leaked ? `did not release ${leaked}` : null };
  }
  if (event.type.endsWith('-failed')) {
    return { commandId, state: 'failed', reason: event.attributes.reason ?? event.attributes.error ?? event.message };
  }
  return null;
}

/** A command the backend gave up on (not delivered in time, or no outcome in time): a late outcome is still what the agent did. */
const givenUp = (command: PluginCommandState) =>
  command.state === 'expired' || (command.state === 'failed' && command.reason === 'no outcome');

/**
 * Commands with the outcomes the live events carry: an event arrives as soon as the agent
 * reports, before the command list is read again. Commands the events do not answer stay the
 * same objects.
 */
export function withOutcomes(commands: readonly PluginCommandState[], events: readonly EventRecord[]): PluginCommandState[] {
  const answers = new Map<string, { state: CommandState; reason: string | null; time: number }>();
  for (const event of events) {
    const outcome = outcomeOf(event);
    if (outcome) answers.set(outcome.commandId, { state: outcome.state, reason: outcome.reason, time: event.time });
  }
  return commands.map((command) => {
    const answer = answers.get(command.id);
    if (!answer || (isFinal(command.state) && !givenUp(command))) return command;
    return { ...command, state: answer.state, reason: answer.reason, updatedAt: Math.max(command.updatedAt, answer.time) };
  });
}

/** The newer word on each command: a final state beats a pending one, then the later update wins. Newest first. */
export function mergeCommands(current: readonly PluginCommandState[], incoming: readonly PluginCommandState[]): PluginCommandState[] {
  const byId = new Map(current.map((c) => [c.id, c]));
  for (const command of incoming) {
    const known = byId.get(command.id);
    const newer =
      !known ||
      (isFinal(command.state) && !isFinal(known.state)) ||
      (isFinal(command.state) === isFinal(known.state) && command.updatedAt >= known.updatedAt);
    if (newer) byId.set(command.id, command);
  }
  return [...byId.values()].sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
}

export interface Progress {
  total: number;
  byState: Record<CommandState, number>;
  /** Queued or delivered: the agents have not answered yet. */
  pending: number;
}

export function progressOf(commands: readonly PluginCommandState[]): Progress {
  const byState: Record<CommandState, number> = { queued: 0, delivered: 0, succeeded: 0, failed: 0, expired: 0 };
  for (const command of commands) byState[command.state]++;
  return { total: commands.length, byState, pending: byState.queued + byState.delivered };
}

/** "2 of 3 succeeded, 1 failed" / "3 of 3 succeeded" / "1 waiting". */
export function describeProgress({ total, byState, pending }: Progress): string {
  const parts = [`${byState.succeeded} of ${total} succeeded`];
  if (byState.failed > 0) parts.push(`${byState.failed} failed`);
  if (byState.expired > 0) parts.push(`${byState.expired} expired`);
  if (pending > 0) parts.push(`${pending} waiting for ${pending === 1 ? 'its agent' : 'their agents'}`);
  return parts.join(', ');
}

/** An event that may move one of the listed commands: a plugin event of the filter's instance, service and plugin. */
export function concerns(event: EventRecord, filter: CommandFilter): boolean {
  return (
    event.type.startsWith('plugin.') &&
    (!filter.instanceId || event.instanceId === filter.instanceId) &&
    (!filter.service || event.service === filter.service) &&
    (!filter.plugin || event.attributes.plugin === filter.plugin)
  );
}
