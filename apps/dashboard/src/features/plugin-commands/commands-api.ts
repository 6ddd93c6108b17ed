import {
  PLUGIN_COMMANDS_PATH,
  PLUGINS_PATH,
  pluginCommandListSchema,
  type PluginCommandState,
  type PluginCommandStateName,
} from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';

export type { PluginCommandState } from '@vigil/protocol';

/** Where a plugin command stands on the backend. */
export type CommandState = PluginCommandStateName;

/** What the dashboard asks of a running agent: put a plugin in, take it out, or replace its version. */
export type LifecycleAction = 'install' | 'uninstall' | 'upgrade';

const parseList = withSchema(pluginCommandListSchema);

/** `{ commands }`: the bulk routes' and the list's answer, and an instance's (which also has `command`). */
export const parseCommands = (body: unknown): PluginCommandState[] => parseList(body).commands;

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
  return requestJson(`${PLUGINS_PATH}/${plugin(pluginName)}/${action}`, parseCommands, {
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
  return requestJson(`${PLUGIN_COMMANDS_PATH}?${params}`, parseCommands, { signal });
}
