import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '@vigil/protocol/constants';
import { describeError, logger } from '../logger';
import { AGENT_PSEUDO_PLUGIN, type AgentHeartbeatService } from '../services/agent-heartbeat-service';
import { pluginDefinitionFrom, type InterceptorDeclaration, type PluginDefinition } from './define-plugin';
import { interceptorsOf, wrap } from './interceptor';
import { runInPlugin } from './plugin-context';

/**
 * The exports of a module as the application would get them, or undefined when the
 * application cannot load it (not installed). Provided by `register`, which owns loader details.
 */
export type ModuleLoader = (moduleName: string) => unknown;

export interface LoadedPlugin {
  name: string;
  version: string;
}

export interface LoadPluginsOptions {
  dir: string;
  /** Folder names to load, in order; undefined loads every folder in `dir`. */
  folders: string[] | undefined;
  loadModule: ModuleLoader;
  heartbeat: AgentHeartbeatService;
}

/**
 * Loads each plugin folder: reads its package.json, requires its entry in the plugin's context
 * and installs its interceptors. A plugin that cannot load is logged and skipped; the others
 * still load. Returns the plugins loaded, which are also registered with the heartbeat service.
 */
export function loadPlugins({ dir, folders, loadModule, heartbeat }: LoadPluginsOptions): LoadedPlugin[] {
  const loaded: LoadedPlugin[] = [];
  const taken = new Set([AGENT_PSEUDO_PLUGIN]);
  for (const folder of folders ?? listFolders(dir)) {
    const plugin = loadPlugin(path.join(dir, folder), taken, heartbeat);
    if (plugin === undefined) continue;
    installInterceptors(plugin.name, plugin.definition.interceptors ?? [], loadModule);
    heartbeat.addPlugin(plugin.name, plugin.version);
    taken.add(plugin.name);
    loaded.push({ name: plugin.name, version: plugin.version });
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

function loadPlugin(
  folder: string,
  taken: ReadonlySet<string>,
  heartbeat: AgentHeartbeatService,
): (LoadedPlugin & { definition: PluginDefinition }) | undefined {
  let manifest: LoadedPlugin;
  try {
    manifest = readManifest(folder);
    if (taken.has(manifest.name)) throw new Error(`the name ${manifest.name} is already taken`);
  } catch (error) {
    logger.warn({ err: error }, `plugin in ${folder} skipped: ${describeError(error)}`);
    return undefined;
  }
  try {
    // The plugin's module code runs in its context, so a getService at its top level is bound to it.
    const definition = runInPlugin(manifest.name, () => pluginDefinitionFrom(require(folder)));
    return { ...manifest, definition };
  } catch (error) {
    heartbeat.discardExtInfo(manifest.name);
    logger.warn({ err: error }, `plugin ${manifest.name} (${folder}) skipped: ${describeError(error)}`);
    return undefined;
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

/**
 * Wraps each declared method. A target the app cannot load is skipped quietly (a plugin may
 * target optional libraries); one that exists but cannot be wrapped is a warning. Either way the
 * plugin's other interceptors still install.
 */
function installInterceptors(pluginName: string, declarations: InterceptorDeclaration[], loadModule: ModuleLoader): void {
  for (const declaration of declarations) {
    const target = `${declaration.module}${declaration.export ? `:${declaration.export}` : ''}.${declaration.method}`;
    try {
      const owner = ownerOf(declaration, loadModule);
      if (owner === undefined) {
        logger.info(`plugin ${pluginName}: module ${declaration.module} is not installed, ${target} is not intercepted`);
        continue;
      }
      const interceptor = { pluginName, hooks: declaration };
      wrap(owner, declaration.method, [...interceptorsOf(owner, declaration.method), interceptor]);
    } catch (error) {
      logger.warn({ err: error }, `plugin ${pluginName}: cannot intercept ${target}: ${describeError(error)}`);
    }
  }
}

/** The object owning the declared method, or undefined when the module is not installed. */
function ownerOf(declaration: InterceptorDeclaration, loadModule: ModuleLoader): object | undefined {
  const moduleExports = loadModule(declaration.module);
  if (moduleExports === undefined) return undefined;
  let owner: unknown = moduleExports;
  for (const key of declaration.export ? declaration.export.split('.') : []) {
    owner = isObjectLike(owner) ? Reflect.get(owner, key) : undefined;
  }
  if (!isObjectLike(owner)) throw new Error(`export ${declaration.export ?? '(module)'} is not an object`);
  return owner;
}

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}
