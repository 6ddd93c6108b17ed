import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PluginCommand } from '../protocol';
import type { AgentEvents, EventAttributes } from '../events/agent-events';
import { describeError } from '../logger';
import type { AgentHealthService } from '../services/agent-health-service';
import { AGENT_PSEUDO_PLUGIN, type AgentHeartbeatService } from '../services/agent-heartbeat-service';
import type { Instrumentation, StagedPlugin } from './instrumentation';
import type { ImportsBefore, ModuleHooks, WatchedModules } from './module-hooks';
import { runInPlugin } from './plugin-context';
import type { PluginRecord } from './plugin-loader';
import {
  checkAgentRange,
  describeLoadError,
  forgetModulesUnder,
  locatePluginVersion,
  offerServices,
  readManifest,
  requireDefinition,
  withdrawServices,
  type PluginLocation,
  type PluginModule,
} from './plugin-package';
import { PluginResources, trackResources } from './plugin-resources';

/** Longest the agent waits for a plugin's `stop`; past it the plugin is gone all the same, and the event says so. */
export const PLUGIN_STOP_TIMEOUT_MS = 5_000;

export interface HotPluggingOptions {
  /** plugins.dir, and the service's root (where plugin packages are looked up from). */
  dir: string;
  appRoot: string;
  agentVersion: string;
  heartbeat: AgentHeartbeatService;
  health: AgentHealthService;
  instrumentation: Instrumentation;
  moduleHooks: ModuleHooks;
  events: AgentEvents;
  /** The plugins running, by name: those loaded at start, then as installs and uninstalls change them. */
  records: Map<string, PluginRecord>;
  /** Plugins' settings (dynamic configuration), when the agent serves them: a new version's are its own from its load. */
  settings?: PluginSettingsHost;
}

/** How plugins' settings follow a plugin's load (the configuration service's side; see its SettingsLoad). */
export interface PluginSettingsHost {
  /** Before the module is evaluated, so that the ConfigService it fetches is this load's. */
  startLoad(pluginName: string): { declare(declarations: unknown): void; commit(): void; discard(): void };
  removePlugin(pluginName: string): void;
}

/** A version of a plugin loaded and not (yet) running. */
interface Loaded {
  module: PluginModule;
  resources: PluginResources;
  settings: ReturnType<PluginSettingsHost['startLoad']> | undefined;
}

/** A refusal whose message is the reason given in the event (no stack needed). */
class Refused extends Error {}

/**
 * Installs, upgrades and uninstalls plugins in the running service (the backend's
 * `plugin.install`, `plugin.upgrade` and `plugin.uninstall` commands), one at a time (PluginControl
 * queues them). Each is all or nothing: a plugin goes live only once every interceptor it declares
 * can be applied to the modules loaded so far; an upgrade loads the new version fully, then swaps
 * the hooks in every wrapper in one synchronous step, then stops the old one. Each outcome is one
 * event naming the command.
 */
export class HotPlugging {
  constructor(private readonly options: HotPluggingOptions) {}

  /** Installs the plugin, or upgrades it when another version of it runs. */
  async install(command: PluginCommand): Promise<void> {
    const current = this.options.records.get(command.plugin);
    try {
      const { location, manifest } = this.find(command);
      if (current !== undefined) {
        await this.replace(command, current, location, manifest);
        return;
      }
      await this.add(command, location, manifest);
    } catch (error) {
      this.refused(command, error, current);
    }
  }

  /** Replaces the running version with the one asked for (without a version: the one found where plugins are). */
  async upgrade(command: PluginCommand): Promise<void> {
    const current = this.options.records.get(command.plugin);
    try {
      if (current === undefined) throw new Refused(`plugin ${command.plugin} is not installed (install it instead)`);
      const { location, manifest } = this.find(command);
      await this.replace(command, current, location, manifest);
    } catch (error) {
      this.refused(command, error, current);
    }
  }

  /** Removes every interceptor of the plugin (the originals back), its services, ext-info and indicators, then calls its `stop`. */
  async uninstall({ id, plugin }: PluginCommand): Promise<void> {
    const { records, instrumentation, heartbeat, health, events } = this.options;
    const record = records.get(plugin);
    if (record === undefined || !instrumentation.has(plugin)) {
      const reason = `plugin ${plugin} is not installed`;
      events.report('important', 'plugin.uninstall-failed', `cannot uninstall plugin ${plugin}: ${reason} (command ${id})`, {
        plugin,
        command: id,
        reason,
      });
      return;
    }
    instrumentation.remove(plugin);
    withdrawServices(record.definition);
    heartbeat.removePlugin(plugin);
    health.discardIndicatorsOf(plugin);
    health.setPluginEnabled(plugin, true);
    this.options.settings?.removePlugin(plugin);
    records.delete(plugin);
    const { attributes, clean } = await this.retire(record);
    const message = `plugin ${plugin} ${record.version} uninstalled${clean ? '' : ` (${describeRetired(attributes)})`} (command ${id})`;
    events.report(clean ? 'normal' : 'important', 'plugin.uninstalled', message, {
      plugin,
      command: id,
      version: record.version,
      ...attributes,
    });
  }

  private find({ plugin, version }: PluginCommand): { location: PluginLocation; manifest: ReturnType<typeof readManifest> } {
    if (plugin === AGENT_PSEUDO_PLUGIN) throw new Refused(`the name ${plugin} is the agent's own`);
    const location = locatePluginVersion(plugin, version, this.options.dir, this.options.appRoot);
    const manifest = readManifest(location.dir);
    if (manifest.name !== plugin) throw new Refused(`${location.dir} holds plugin ${manifest.name}, not ${plugin}`);
    checkAgentRange(manifest, this.options.agentVersion);
    return { location, manifest };
  }

  private async add({ id, plugin }: PluginCommand, location: PluginLocation, { version }: { version: string }): Promise<void> {
    const { instrumentation, heartbeat, records, events } = this.options;
    const loaded = this.load(plugin, location, undefined);
    try {
      const staged = await this.stage(plugin, loaded.module);
      // One synchronous step: services, interceptors, the plugin list.
      offerServices(loaded.module.definition);
      instrumentation.commit(staged);
      heartbeat.addPlugin(plugin, version);
      loaded.settings?.commit();
    } catch (error) {
      await this.abandon(plugin, loaded, location.dir);
      throw error;
    }
    records.set(plugin, { name: plugin, version, dir: location.dir, ...loaded.module, resources: loaded.resources });
    events.report('normal', 'plugin.installed', `plugin ${plugin} ${version} installed (command ${id})`, { plugin, command: id, version });
  }

  private async replace(
    command: PluginCommand,
    current: PluginRecord,
    location: PluginLocation,
    { version }: { version: string },
  ): Promise<void> {
    const { id, plugin } = command;
    const { instrumentation, heartbeat, records, events } = this.options;
    if (version === current.version && location.dir === current.dir) {
      // Nothing to do, and that is the outcome asked for: an upgrade to what runs reports the upgrade done.
      const upgrade = command.type === 'plugin.upgrade';
      events.report(
        'normal',
        upgrade ? 'plugin.upgraded' : 'plugin.installed',
        `plugin ${plugin} ${version} was already installed (command ${id})`,
        {
          plugin,
          command: id,
          version,
          ...(upgrade ? { from: version } : {}),
        },
      );
      return;
    }
    const restoreExtInfo = heartbeat.keepExtInfo(plugin);
    let loaded: Loaded | undefined;
    try {
      loaded = this.load(plugin, location, current);
      const keptNames = (loaded.module.definition.services ?? []).map(({ type }) => type.serviceName);
      const staged = await this.stage(plugin, loaded.module);
      // One synchronous step: no call sees some of the old hooks and some of the new, or none.
      offerServices(
        loaded.module.definition,
        (current.definition.services ?? []).map(({ type }) => type.serviceName),
      );
      instrumentation.commit(staged, plugin);
      withdrawServices(current.definition, keptNames);
      heartbeat.addPlugin(plugin, version);
      // The new version's settings take over, keeping the configuration version the old one applied.
      loaded.settings?.commit();
    } catch (error) {
      restoreExtInfo();
      if (loaded !== undefined) await this.abandon(plugin, loaded, location.dir === current.dir ? undefined : location.dir);
      throw error;
    }
    records.set(plugin, { name: plugin, version, dir: location.dir, ...loaded.module, resources: loaded.resources });
    const { attributes, clean } = await this.retire(current, location.dir);
    const note = clean ? '' : ` (${current.version}: ${describeRetired(attributes)})`;
    events.report(
      clean ? 'normal' : 'important',
      'plugin.upgraded',
      `plugin ${plugin} upgraded from ${current.version} to ${version}${note} (command ${id})`,
      {
        plugin,
        command: id,
        version,
        from: current.version,
        ...attributes,
      },
    );
  }

  /** Evaluates the plugin's module afresh, in its context, tracking what it creates. */
  private load(plugin: string, location: PluginLocation, current: PluginRecord | undefined): Loaded {
    const resources = new PluginResources();
    forgetModulesUnder(location.dir);
    const settings = this.options.settings?.startLoad(plugin);
    let module: PluginModule;
    try {
      module = requireDefinition(plugin, location.request, resources);
      settings?.declare((module.definition as { settings?: unknown }).settings);
    } catch (error) {
      settings?.discard();
      if (current === undefined) this.forgetState(plugin);
      throw new Refused(describeLoadError(error));
    }
    if (current !== undefined && module.exports === current.exports) {
      settings?.discard();
      // Node keeps ES modules for the life of the process: the same folder gives the same module.
      throw new Refused(
        `Node returned the module of ${plugin} ${current.version} it loaded before (an ES module plugin is loaded once per process): ` +
          `put the new version in its own folder, ${plugin}@<version>`,
      );
    }
    return { module, resources, settings };
  }

  /** Checks the plugin's interceptors against what is loaded, after the import side says what ES modules hold. */
  private async stage(plugin: string, { definition }: PluginModule): Promise<StagedPlugin> {
    const { instrumentation, moduleHooks } = this.options;
    const declarations = definition.interceptors ?? [];
    const modules = instrumentation.modulesOf(declarations);
    checkImports(await moduleHooks.watchMore(modules), modules);
    return instrumentation.stage(plugin, declarations, moduleHooks.loadedByRequire(modules));
  }

  /** A loaded version that will not run: it releases what its module started, and its modules leave the cache. */
  private async abandon(plugin: string, loaded: Loaded, dir: string | undefined): Promise<void> {
    loaded.settings?.discard();
    await stopPlugin(plugin, loaded.module.definition, new PluginResources());
    if (!this.options.records.has(plugin)) this.forgetState(plugin);
    if (dir !== undefined) forgetModulesUnder(dir);
  }

  /** Calls a plugin's `stop` (bounded), says what it left behind, and lets its modules go (unless `keepDir` holds its successor). */
  private async retire(record: PluginRecord, keepDir?: string): Promise<{ attributes: EventAttributes; clean: boolean }> {
    const stopFailure = await stopPlugin(record.name, record.definition, record.resources);
    const leaked = record.resources.leaked();
    if (record.dir !== keepDir) forgetModulesUnder(record.dir);
    const attributes: Record<string, string> = {};
    if (leaked !== undefined) attributes.leaked = leaked;
    if (stopFailure !== undefined) attributes.stop = stopFailure;
    return { attributes, clean: leaked === undefined && stopFailure === undefined };
  }

  /** What a plugin that did not make it set while loading. */
  private forgetState(plugin: string): void {
    this.options.heartbeat.discardExtInfo(plugin);
    this.options.health.discardIndicatorsOf(plugin);
  }

  private refused({ id, type, plugin, version }: PluginCommand, error: unknown, current: PluginRecord | undefined): void {
    const reason = error instanceof Refused ? error.message : describeError(error);
    const what = type === 'plugin.upgrade' || current !== undefined ? 'upgrade' : 'install';
    const attributes: Record<string, string> = { plugin, command: id, reason };
    if (version !== undefined) attributes.version = version;
    if (current !== undefined) attributes.from = current.version;
    const still = current === undefined ? '' : `; ${current.version} keeps running`;
    this.options.events.report(
      'important',
      'plugin.install-failed',
      `cannot ${what} plugin ${plugin}: ${reason}${still} (command ${id})`,
      attributes,
    );
  }
}

/**
 * Refuses, before anything changes, a plugin whose targets ES modules imported without the
 * agent's import hook (their importers' bindings cannot be patched), or may have, when the hook
 * was not running since the service started.
 */
function checkImports(imports: ImportsBefore, modules: WatchedModules): void {
  if (imports.tracked) {
    if (imports.imported.length === 0) return;
    throw new Refused(
      `${imports.imported.join(', ')} ${imports.imported.length === 1 ? 'was' : 'were'} imported by ES modules before the agent's import hook ` +
        `watched ${imports.imported.length === 1 ? 'it' : 'them'}: their imports cannot be patched after load ` +
        `(an ES module can be patched at run time when a plugin loaded at start targets it)`,
    );
  }
  // The service's entry (argv[1]) an ES module: any of them may have been imported.
  const esmEntry = process.argv[1] !== undefined && isEsmFile(path.resolve(process.argv[1]));
  const doubtful = esmEntry ? [...modules.packages, ...modules.files] : modules.files.filter(isEsmFile);
  if (doubtful.length === 0) return;
  throw new Refused(
    `the agent's import hook did not run since the service started (no plugin loaded at start targets a package or an app file), ` +
      `so it cannot tell whether ES modules imported ${doubtful.join(', ')}` +
      (esmEntry ? ' (the service itself is an ES module)' : ''),
  );
}

/** Whether Node loads the file as an ES module: `.mjs`, or `.js` under a package.json with `"type": "module"`. */
function isEsmFile(file: string): boolean {
  if (file.endsWith('.mjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type === 'module';
    } catch {
      if (path.dirname(dir) === dir) return false;
    }
  }
}

/** Calls `stop` in the plugin's context, waits for it up to PLUGIN_STOP_TIMEOUT_MS; says how it failed, if it did. */
async function stopPlugin(
  plugin: string,
  { stop }: { stop?: () => void | Promise<void> },
  resources: PluginResources,
): Promise<string | undefined> {
  if (stop === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const returned = runInPlugin(plugin, () => trackResources(resources, stop));
    const timedOut = new Promise<'timed out'>((resolve) => {
      timer = setTimeout(() => resolve('timed out'), PLUGIN_STOP_TIMEOUT_MS).unref();
    });
    if ((await Promise.race([Promise.resolve(returned), timedOut])) === 'timed out') return `timed out after ${PLUGIN_STOP_TIMEOUT_MS} ms`;
    return undefined;
  } catch (error) {
    return `threw: ${describeError(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

function describeRetired(attributes: EventAttributes): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key === 'leaked' ? 'left' : key} ${String(value)}`)
    .join('; ');
}
