import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LIMITS } from '../protocol';
import type { AgentEvents } from '../events/agent-events';
import { describeError, logger } from '../logger';
import type { AgentConfigService, SettingsLoad } from '../services/agent-config-service';
import type { AgentHealthService } from '../services/agent-health-service';
import { AGENT_PSEUDO_PLUGIN, type AgentHeartbeatService } from '../services/agent-heartbeat-service';
import { hasService, registerService } from '../services/service-manager';
import { isPackageName, pluginDefinitionFrom, type PluginDefinition } from './define-plugin';
import type { Instrumentation } from './instrumentation';
import { runInPlugin } from './plugin-context';

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
}

/** Where a plugin's package.json sits, and what `require` loads its entry module by. */
interface PluginLocation {
  dir: string;
  request: string;
}

interface PluginManifest extends LoadedPlugin {
  /** `peerDependencies['@vigil/agent']`: the agent versions the plugin was built for. */
  agentRange: string | undefined;
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
      const { name, version, agentRange } = readManifest(found.dir);
      manifest = { name, version };
      if (taken.has(name)) throw new Error(`the name ${name} is already taken`);
      checkAgentRange(manifest, agentRange, agentVersion);
      ran = true;
      settings = config?.startLoad(name);
      const definition = requireDefinition(name, found.request);
      settings?.declare(definition.settings);
      offerServices(definition);
      instrumentation.addPlugin(name, definition.interceptors ?? []);
      heartbeat.addPlugin(name, version);
      settings?.commit();
      taken.add(name);
      loaded.push(manifest);
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

/**
 * A folder of plugins.dir wins; otherwise the name is looked up as a package the way the
 * service's own `require(name)` would (its node_modules, then its parents'), and its entry is
 * resolved by name, so the package's `exports` apply.
 */
function locatePlugin(name: string, dir: string, appRoot: string): PluginLocation {
  const folder = path.join(dir, name);
  if (isDirectory(folder)) return { dir: folder, request: folder };
  if (!isPackageName(name)) throw new Error(`${folder} is not a directory`);
  const appRequire = createRequire(path.join(appRoot, 'package.json'));
  const packageDir = (appRequire.resolve.paths(name) ?? [])
    .map((modules) => path.join(modules, name))
    .find((candidate) => existsSync(path.join(candidate, 'package.json')));
  if (packageDir === undefined) {
    throw new Error(`there is no folder ${folder} and no package ${name} installed in ${appRoot}'s node_modules`);
  }
  return { dir: packageDir, request: appRequire.resolve(name) };
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
function readManifest(folder: string): PluginManifest {
  const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as {
    name?: unknown;
    version?: unknown;
    vigil?: { name?: unknown };
    peerDependencies?: Record<string, unknown>;
  };
  const name = [manifest.vigil?.name, manifest.name].find((value): value is string => typeof value === 'string') ?? path.basename(folder);
  if (name === '' || name.length > LIMITS.nameLength) throw new Error(`bad plugin name ${JSON.stringify(name)}`);
  const version = typeof manifest.version === 'string' && manifest.version !== '' ? manifest.version : 'unknown';
  const agentRange = manifest.peerDependencies?.['@vigil/agent'];
  return { name, version: version.slice(0, 64), agentRange: typeof agentRange === 'string' ? agentRange : undefined };
}

/** A plugin built against another major of the agent API may call what this agent lacks: it is not run. */
function checkAgentRange({ name, version }: LoadedPlugin, range: string | undefined, agentVersion: string): void {
  if (range === undefined) return;
  // Loaded here: most plugins in a folder declare no peer range.
  const { satisfies, validRange } = require('semver') as typeof import('semver');
  if (validRange(range) === null)
    throw new Error(`its peerDependencies range for @vigil/agent ${JSON.stringify(range)} is not a semver range`);
  if (!satisfies(agentVersion, range, { includePrerelease: true })) {
    throw new Error(`${name} ${version} is built for @vigil/agent ${range} (its peerDependencies), and this agent is ${agentVersion}`);
  }
}

/** The plugin's module code runs in its context, so a getService at its top level is bound to it. */
function requireDefinition(pluginName: string, request: string): PluginDefinition {
  return runInPlugin(pluginName, () => pluginDefinitionFrom(require(request)));
}

/**
 * The cause of a failed load in words a plugin's author can act on. Node's own message says what
 * failed (e.g. "Cannot find package '@vigil/agent'"); for ES module entries it may not say why.
 */
function describeLoadError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = describeError(error);
  switch (code) {
    case 'ERR_REQUIRE_ASYNC_MODULE':
      return 'its entry is an ES module with top-level await, which the agent cannot wait for before the service starts (move the await into a function)';
    case 'ERR_REQUIRE_ESM':
      return `its entry is an ES module, which Node ${process.version} cannot load synchronously (Node 20.19 or later can): ${message}`;
    case 'ERR_MODULE_NOT_FOUND':
      if (/'@vigil\/agent'/.test(message)) {
        return (
          `its ES module imports @vigil/agent, which Node ${process.version} resolves only from the plugin's own folder and its parents ` +
          `(install @vigil/agent in the service, or in the plugin's folder): ${message}`
        );
      }
      return `one of its imports cannot be found: ${message}`;
    default:
      return error instanceof SyntaxError ? `its code does not parse: ${syntaxErrorPlace(error)}${message}` : message;
  }
}

/** The file and line a SyntaxError from require() names on the first line of its stack, as `file:line: `. */
function syntaxErrorPlace(error: SyntaxError): string {
  const first = error.stack?.split('\n', 1)[0] ?? '';
  return /^(\/|[A-Za-z]:\\|file:).*:\d+$/.test(first) ? `${first}: ` : '';
}

/** All of a plugin's services or none: a taken name fails the plugin before any is offered. */
function offerServices({ services = [] }: PluginDefinition): void {
  const names = services.map(({ type }) => type.serviceName);
  const clash = names.find((name, index) => hasService(name) || names.indexOf(name) !== index);
  if (clash !== undefined) throw new Error(`a service named ${clash} is already offered`);
  for (const { type, service } of services) registerService(type, service);
}
