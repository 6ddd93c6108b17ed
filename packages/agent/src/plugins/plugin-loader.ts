import type { AgentEvents } from '../events/agent-events';
import type { AgentConfigService, SettingsLoad } from '../services/agent-config-service';
import type { AgentHealthService } from '../services/agent-health-service';
import { AGENT_PSEUDO_PLUGIN, type AgentHeartbeatService } from '../services/agent-heartbeat-service';
import type { PluginDefinition } from './define-plugin';
import type { Instrumentation } from './instrumentation';
import {
  checkAgentRange,
  describeLoadError,
  listFolders,
  locatePlugin,
  offerServices,
  readManifest,
  requireDefinition,
} from './plugin-package';
import { PluginResources } from './plugin-resources';

export interface LoadedPlugin {
  name: string;
  version: string;
}

export interface LoadPluginsOptions {
  dir: string;
  /**
   * Plugins to load, in order: each a folder of `dir`, else a package installed where the
   * service's own `require` finds it (its node_modules). Undefined loads every folder in `dir`.
   */
  names: string[] | undefined;
  /** The service's root (its working directory): where plugin packages are looked up from. */
  appRoot: string;
  /** This agent's version, checked against a plugin's `peerDependencies['@vigil/agent']`. */
  agentVersion: string;
  heartbeat: AgentHeartbeatService;
  health: AgentHealthService;
  instrumentation: Instrumentation;
  events: AgentEvents;
  /** Plugins' settings (dynamic configuration); without it, settings are checked but not served. */
  config?: AgentConfigService;
  /** Where each plugin loaded is recorded, for a later uninstall or upgrade (hot-plugging.ts). */
  records?: Map<string, PluginRecord>;
}

/** A plugin running in this process, as an uninstall or an upgrade needs it. */
export interface PluginRecord extends LoadedPlugin {
  /** Its folder (package.json), whose modules leave the require cache when it goes. */
  dir: string;
  /** Its entry module's exports: Node hands back the same object for an ES module loaded again. */
  exports: unknown;
  definition: PluginDefinition;
  /** What its own code created, checked when it goes. */
  resources: PluginResources;
}

/**
 * Loads each plugin: finds it (a folder, else a package), reads its package.json, checks it was
 * built for this agent, requires its entry in the plugin's context (CommonJS, or an ES module
 * through Node's require(esm)), offers its services and registers its interceptors. A plugin
 * that cannot load is reported (`plugin.failed`, naming the cause) and skipped; the others still
 * load (`plugin.loaded`). Returns the plugins loaded, which are also registered with the
 * heartbeat service.
 */
export function loadPlugins(options: LoadPluginsOptions): LoadedPlugin[] {
  const { dir, names, appRoot, agentVersion, heartbeat, health, instrumentation, events, config } = options;
  const loaded: LoadedPlugin[] = [];
  const taken = new Set([AGENT_PSEUDO_PLUGIN]);
  for (const wanted of names ?? listFolders(dir)) {
    let location: string | undefined;
    let manifest: LoadedPlugin | undefined;
    /** Whether the plugin's own code ran, and may have set ext-info or health indicators under its name. */
    let ran = false;
    let settings: SettingsLoad | undefined;
    try {
      const found = locatePlugin(wanted, dir, appRoot);
      location = found.dir;
      const read = readManifest(found.dir);
      const { name, version } = read;
      manifest = { name, version };
      if (taken.has(name)) throw new Error(`the name ${name} is already taken`);
      checkAgentRange(read, agentVersion);
      ran = true;
      settings = config?.startLoad(name);
      const resources = new PluginResources();
      const { exports, definition } = requireDefinition(name, found.request, resources);
      settings?.declare(definition.settings);
      offerServices(definition);
      instrumentation.addPlugin(name, definition.interceptors ?? []);
      heartbeat.addPlugin(name, version);
      settings?.commit();
      taken.add(name);
      loaded.push(manifest);
      options.records?.set(name, { name, version, dir: found.dir, exports, definition, resources });
      events.report('normal', 'plugin.loaded', `plugin ${name} ${version} loaded`, { plugin: name, version });
    } catch (error) {
      const name = manifest?.name ?? wanted;
      settings?.discard();
      if (ran) {
        heartbeat.discardExtInfo(name);
        health.discardIndicatorsOf(name);
      }
      const where = location === undefined ? '' : ` (${location})`;
      const message = `plugin ${name}${where} skipped: ${describeLoadError(error)}`;
      events.report('important', 'plugin.failed', message, { plugin: name }, error);
    }
  }
  return loaded;
}
