import { requestJson } from '../../api/http';
import { array, count, object, oneOf, text, textOrNull, type Fields } from '../../api/shape';

/** Where a plugin command stands on the backend (`GET /api/v1/plugin-commands`). */
export const COMMAND_STATES = ['queued', 'delivered', 'succeeded', 'failed', 'expired'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

/** What the dashboard asks of a running agent: put a plugin in, take it out, or replace its version. */
export type LifecycleAction = 'install' | 'uninstall' | 'upgrade';

export interface PluginCommandState {
  id: string;
  instanceId: string;
  service: string;
  /** `plugin.install`, `plugin.upgrade`, `plugin.uninstall` (or `plugin.disable` / `plugin.enable`). */
  type: string;
  plugin: string;
  /** The version asked for; null: the one the agent finds. */
  version: string | null;
  state: CommandState;
  /** Why it failed or expired, in the agent's or the backend's words. */
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}

export function parseCommandState(value: unknown, path: string): PluginCommandState {
  const f: Fields = object(value, path);
  return {
    id: text(f.id, `${path}.id`),
    instanceId: text(f.instanceId, `${path}.instanceId`),
    service: text(f.service, `${path}.service`),
    type: text(f.type, `${path}.type`),
    plugin: text(f.plugin, `${path}.plugin`),
    version: textOrNull(f.version, `${path}.version`),
    state: oneOf(f.state, COMMAND_STATES, `${path}.state`),
    reason: textOrNull(f.reason, `${path}.reason`),
    createdAt: count(f.createdAt, `${path}.createdAt`),
    updatedAt: count(f.updatedAt, `${path}.updatedAt`),
    expiresAt: count(f.expiresAt, `${path}.expiresAt`),
  };
}

/** `{ commands: [...] }`, or `{ command }` for an answer about one instance. */
export function parseCommands(body: unknown): PluginCommandState[] {
  const f = object(body, '(body)');
  if (f.commands === undefined && f.command !== undefined) return [parseCommandState(f.command, 'command')];
  return array(f.commands, 'commands').map((c, i) => parseCommandState(c, `commands.${i}`));
}

const plugin = (name: string) => encodeURIComponent(name);
/** The body of a lifecycle command: the version only when one was given. */
const versionBody = (version: string) => (version.trim() ? { version: version.trim() } : {});

/** Queues an install / upgrade / uninstall for one instance; the agent gets it with its next beat reply. */
export function sendInstanceCommand(
  instanceId: string,
  pluginName: string,
  action: LifecycleAction,
  version = '',
): Promise<PluginCommandState[]> {
  return requestJson(`/api/v1/instances/${encodeURIComponent(instanceId)}/plugins/${plugin(pluginName)}/${action}`, parseCommands, {
    method: 'POST',
    body: versionBody(version),
  });
}

/** Queues a command for every running instance of a service: one command per instance. */
export function sendServiceCommand(
  pluginName: string,
  action: LifecycleAction,
  service: string,
  version = '',
): Promise<PluginCommandState[]> {
  return requestJson(`/api/v1/plugins/${plugin(pluginName)}/${action}`, parseCommands, {
    method: 'POST',
    body: { ...versionBody(version), service },
  });
}

/** Which commands to list; at least one is given. */
export interface CommandFilter {
  instanceId?: string;
  service?: string;
  plugin?: string;
}

export function listCommands(filter: CommandFilter, signal?: AbortSignal): Promise<PluginCommandState[]> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value) params.set(key, value);
  return requestJson(`/api/v1/plugin-commands?${params}`, parseCommands, { signal });
}
