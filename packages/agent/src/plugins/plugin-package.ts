import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LIMITS } from '../protocol';
import { describeError, logger } from '../logger';
import { hasService, registerService, unregisterService } from '../services/service-manager';
import { isPackageName, pluginDefinitionFrom, type PluginDefinition } from './define-plugin';
import { runInPlugin } from './plugin-context';
import { trackResources, type PluginResources } from './plugin-resources';

/*
 * A plugin as a package on disk: where it is (a folder of plugins.dir, else a package in the
 * service's node_modules; for a version, `<name>@<version>` too), what its package.json says, its
 * entry module loaded in its context, its services offered and withdrawn. Shared by the start-up
 * loader (plugin-loader.ts) and run-time installs (hot-plugging.ts).
 */

export interface PluginManifest {
  name: string;
  version: string;
  /** `peerDependencies['@vigil/agent']`: the agent versions the plugin was built for. */
  agentRange: string | undefined;
}

/** Where a plugin's package.json sits, and what `require` loads its entry module by. */
export interface PluginLocation {
  dir: string;
  request: string;
}

/**
 * A folder of plugins.dir wins; otherwise the name is looked up as a package the way the
 * service's own `require(name)` would (its node_modules, then its parents'), and its entry is
 * resolved by name, so the package's `exports` apply.
 */
export function locatePlugin(name: string, dir: string, appRoot: string): PluginLocation {
  const folder = path.join(dir, name);
  // The trailing separator makes require() load the folder, never a file `<name>.js` beside it.
  if (isDirectory(folder)) return { dir: folder, request: `${folder}${path.sep}` };
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

/**
 * A given version of a plugin: the folder `<name>@<version>` of plugins.dir, else the plain
 * folder or the installed package when its package.json has that version. Throws naming every
 * version found otherwise. Without a version, the plugin wherever `locatePlugin` finds it.
 */
export function locatePluginVersion(name: string, version: string | undefined, dir: string, appRoot: string): PluginLocation {
  if (version === undefined) return locatePlugin(name, dir, appRoot);
  const candidates: PluginLocation[] = [];
  const versioned = path.join(dir, `${name}@${version}`);
  if (isDirectory(versioned)) candidates.push({ dir: versioned, request: `${versioned}${path.sep}` });
  try {
    candidates.push(locatePlugin(name, dir, appRoot));
  } catch {
    // No plain folder or package: only versioned folders may hold it.
  }
  for (const folder of listFolders(dir)) {
    if (folder.startsWith(`${name}@`) && folder !== `${name}@${version}`) {
      candidates.push({ dir: path.join(dir, folder), request: `${path.join(dir, folder)}${path.sep}` });
    }
  }
  const found = candidates.map((location) => ({ location, version: versionAt(location.dir) }));
  const match = found.find((candidate) => candidate.version === version);
  if (match !== undefined) return match.location;
  const seen = found.map((candidate) => `${candidate.version ?? 'unreadable'} (${candidate.location.dir})`);
  throw new Error(`no version ${version} of plugin ${name}: ${seen.length === 0 ? 'found none' : `found ${seen.join(', ')}`}`);
}

function versionAt(dir: string): string | undefined {
  try {
    return readManifest(dir).version;
  } catch {
    return undefined;
  }
}

export function listFolders(dir: string): string[] {
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
export function readManifest(folder: string): PluginManifest {
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
export function checkAgentRange({ name, version, agentRange: range }: PluginManifest, agentVersion: string): void {
  if (range === undefined) return;
  // Loaded here: most plugins in a folder declare no peer range.
  const { satisfies, validRange } = require('semver') as typeof import('semver');
  if (validRange(range) === null)
    throw new Error(`its peerDependencies range for @vigil/agent ${JSON.stringify(range)} is not a semver range`);
  if (!satisfies(agentVersion, range, { includePrerelease: true })) {
    throw new Error(`${name} ${version} is built for @vigil/agent ${range} (its peerDependencies), and this agent is ${agentVersion}`);
  }
}

/** The plugin's entry module as `require` returns it, and the definition it exports. */
export interface PluginModule {
  exports: unknown;
  definition: PluginDefinition;
}

/**
 * The plugin's module code runs in its context, so a getService at its top level is bound to it,
 * and under resource tracking, so that what it starts there can be checked at uninstall.
 */
export function requireDefinition(pluginName: string, request: string, resources: PluginResources): PluginModule {
  return runInPlugin(pluginName, () =>
    trackResources(resources, () => {
      const exports: unknown = require(request);
      return { exports, definition: pluginDefinitionFrom(exports) };
    }),
  );
}

/**
 * Drops a plugin's CommonJS modules (its folder's, its own dependencies included) from the require
 * cache and from their parents' `children`, so the next install evaluates them afresh and the
 * uninstalled code can be collected. An ES module plugin stays in Node's ES module cache, which
 * cannot be emptied: installing it again reuses the module as it was.
 */
export function forgetModulesUnder(dir: string): void {
  const prefix = dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`;
  for (const file of Object.keys(require.cache)) {
    if (!file.startsWith(prefix)) continue;
    const cached = require.cache[file];
    delete require.cache[file];
    // `parent` is deprecated in docs only; Node keeps it for exactly this bookkeeping.
    const siblings = (cached as { parent?: { children?: unknown[] } | null } | undefined)?.parent?.children;
    const index = siblings?.indexOf(cached) ?? -1;
    if (index !== -1) siblings?.splice(index, 1);
  }
}

/**
 * The cause of a failed load in words a plugin's author can act on. Node's own message says what
 * failed (e.g. "Cannot find package '@vigil/agent'"); for ES module entries it may not say why.
 */
export function describeLoadError(error: unknown): string {
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

/**
 * All of a plugin's services or none: a taken name fails the plugin before any is offered.
 * `replacing` are names the plugin may take over (an upgrade's older version offers them).
 */
export function offerServices({ services = [] }: PluginDefinition, replacing: readonly string[] = []): void {
  const names = services.map(({ type }) => type.serviceName);
  const clash = names.find((name, index) => (hasService(name) && !replacing.includes(name)) || names.indexOf(name) !== index);
  if (clash !== undefined) throw new Error(`a service named ${clash} is already offered`);
  for (const { type, service } of services) registerService(type, service);
}

/** Takes a plugin's services away, except the names in `keep` (taken over by its upgrade). */
export function withdrawServices({ services = [] }: PluginDefinition, keep: readonly string[] = []): void {
  for (const { type } of services) if (!keep.includes(type.serviceName)) unregisterService(type.serviceName);
}
