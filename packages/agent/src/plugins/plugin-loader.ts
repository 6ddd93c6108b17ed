import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '@vigil/protocol/constants';
import type { AgentEvents } from '../events/agent-events';
import { describeError, logger } from '../logger';
import { AGENT_PSEUDO_PLUGIN, type AgentHeartbeatService } from '../services/agent-heartbeat-service';
import { hasService, registerService } from '../services/service-manager';
import { pluginDefinitionFrom, type PluginDefinition } from './define-plugin';
import type { Instrumentation } from './instrumentation';
import { runInPlugin } from './plugin-context';

export interface LoadedPlugin {
  name: string;
  version: string;
}

export interface LoadPluginsOptions {
  dir: string;
  /** Folder names to load, in order; undefined loads every folder in `dir`. */
  folders: string[] | undefined;
  heartbeat: AgentHeartbeatService;
  instrumentation: Instrumentation;
  events: AgentEvents;
}

/**
 * Loads each plugin folder: reads its package.json, requires its entry in the plugin's context,
 * offers its services and registers its interceptors. A plugin that cannot load is reported
 * (`plugin.failed`) and skipped; the others still load (`plugin.loaded`). Returns the plugins
 * loaded, which are also registered with the heartbeat service.
 */
export function loadPlugins({ dir, folders, heartbeat, instrumentation, events }: LoadPluginsOptions): LoadedPlugin[] {
  const loaded: LoadedPlugin[] = [];
  const taken = new Set([AGENT_PSEUDO_PLUGIN]);
  for (const folder of folders ?? listFolders(dir)) {
    const location = path.join(dir, folder);
    let manifest: LoadedPlugin | undefined;
    /** Whether the plugin's own code ran, and may have set ext-info under its name. */
    let ran = false;
    try {
      manifest = readManifest(location);
      const { name, version } = manifest;
      if (taken.has(name)) throw new Error(`the name ${name} is already taken`);
      ran = true;
      const definition = requireDefinition(name, location);
      offerServices(definition);
      instrumentation.addPlugin(name, definition.interceptors ?? []);
      heartbeat.addPlugin(name, version);
      taken.add(name);
      loaded.push(manifest);
      events.report('normal', 'plugin.loaded', `plugin ${name} ${version} loaded`, { plugin: name, version });
    } catch (error) {
      const name = manifest?.name ?? folder;
      if (ran) heartbeat.discardExtInfo(name);
      const message = `plugin ${name} (${location}) skipped: ${describeError(error)}`;
      events.report('important', 'plugin.failed', message, { plugin: name }, error);
    }
  }
  return loaded;
}

function listFolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    // No plugins directory is the normal case for an agent that only beats.
    logger.debug(`no plugins loaded: ${dir} cannot be listed (${describeError(error)})`);
    return [];
  }
  return names.filter((name) => isDirectory(path.join(dir, name))).sort();
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** Name from `vigil.name`, else the package name, else the folder; version `unknown` when absent. */
function readManifest(folder: string): LoadedPlugin {
  const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as {
    name?: unknown;
    version?: unknown;
    vigil?: { name?: unknown };
  };
  const name = [manifest.vigil?.name, manifest.name].find((value): value is string => typeof value === 'string') ?? path.basename(folder);
  if (name === '' || name.length > LIMITS.nameLength) throw new Error(`bad plugin name ${JSON.stringify(name)}`);
  const version = typeof manifest.version === 'string' && manifest.version !== '' ? manifest.version : 'unknown';
  return { name, version: version.slice(0, 64) };
}

/** The plugin's module code runs in its context, so a getService at its top level is bound to it. */
function requireDefinition(pluginName: string, folder: string): PluginDefinition {
  return runInPlugin(pluginName, () => pluginDefinitionFrom(require(folder)));
}

/** All of a plugin's services or none: a taken name fails the plugin before any is offered. */
function offerServices({ services = [] }: PluginDefinition): void {
  const names = services.map(({ type }) => type.serviceName);
  const clash = names.find((name, index) => hasService(name) || names.indexOf(name) !== index);
  if (clash !== undefined) throw new Error(`a service named ${clash} is already offered`);
  for (const { type, service } of services) registerService(type, service);
}
