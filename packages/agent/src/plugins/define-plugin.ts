import { isBuiltin } from 'node:module';
import path from 'node:path';
import type Range from 'semver/classes/range';
import { checkSettingDeclarations } from '../config/setting-values';
import type { SettingDeclarations } from '../services/config-service';
import type { ServiceType } from '../services/service-manager';
import type { InterceptorHooks } from './interceptor';

/** One method to intercept, and the hooks to run around it. */
export interface InterceptorDeclaration extends InterceptorHooks {
  /**
   * The module whose exports hold the method: a Node built-in (`http`, `node:http`), an npm
   * package by name (its main entry, as the app imports or requires it), or a file of the
   * application itself by path (`./src/server.js`, relative to the directory the service starts in).
   */
  module: string;
  /**
   * For a package only, and required there: the package versions the hooks were written for, a
   * semver range with an upper bound (`>=4 <6`, `^5.0.0`). Other versions are left alone.
   */
  versions?: string;
  /** Dotted path in the module's exports to the object owning the method (`Server.prototype`); none for the exports themselves. */
  export?: string;
  /** Name of the method on that object. */
  method: string;
}

/** A service the plugin offers to the others, fetched with `ServiceManager.getService(type)`. */
export interface ServiceDeclaration<T = unknown> {
  type: ServiceType<T>;
  service: T;
}

/**
 * What a plugin's entry module exports (as `module.exports` or `default`). The plugin's name and
 * version come from its package.json, so they cannot disagree with what is installed.
 */
export interface PluginDefinition {
  interceptors?: InterceptorDeclaration[];
  services?: ServiceDeclaration[];
  /**
   * The settings the plugin reads through `ServiceManager.getService(ConfigService)`, by name:
   * type, default, description. Full beats carry them: the backend checks new values against them.
   */
  settings?: SettingDeclarations;
  /**
   * Called when the plugin is uninstalled, or replaced by an upgrade, after its interceptors were
   * removed: release what it holds (clear its timers, close its sockets and servers). May return
   * a promise; the agent waits for it up to `PLUGIN_STOP_TIMEOUT_MS` (5 s).
   */
  stop?: () => void | Promise<void>;
}

/** Declares a plugin; it returns its argument and exists for type checking. */
export function definePlugin(definition: PluginDefinition): PluginDefinition {
  return definition;
}

/** How a declaration's `module` is found: by built-in name, package name, or file path. */
export type ModuleKind = 'builtin' | 'package' | 'file';

export function moduleKindOf(module: string): ModuleKind {
  if (isBuiltin(module)) return 'builtin';
  if (module.startsWith('./') || module.startsWith('../') || path.isAbsolute(module)) return 'file';
  return 'package';
}

/** npm's package name rules: lower case, URL-safe, optionally scoped. */
const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

export function isPackageName(name: string): boolean {
  return PACKAGE_NAME.test(name);
}

/** The PluginDefinition in a plugin's entry module exports; throws naming what is wrong with it. */
export function pluginDefinitionFrom(moduleExports: unknown): PluginDefinition {
  const definition = isObject(moduleExports) && 'default' in moduleExports ? moduleExports.default : moduleExports;
  if (!isObject(definition)) throw new TypeError('the entry module does not export a plugin definition object');
  return {
    interceptors: listOf(definition.interceptors, 'interceptors', checkInterceptor),
    services: listOf(definition.services, 'services', checkService),
    ...(definition.settings !== undefined && { settings: checkSettingDeclarations(definition.settings) }),
    ...stopOf(definition),
  };
}

/** The definition's `stop`, called on the definition as the plugin wrote it (`this` is its object). */
function stopOf(definition: Record<string, unknown>): Pick<PluginDefinition, 'stop'> {
  const { stop } = definition;
  if (stop === undefined) return {};
  if (typeof stop !== 'function') throw new TypeError('stop must be a function');
  return { stop: () => (stop as () => void | Promise<void>).call(definition) };
}

function listOf<T>(value: unknown, key: string, check: (item: unknown, where: string) => T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${key} must be an array`);
  return value.map((item: unknown, index) => check(item, `${key}[${index}]`));
}

function checkInterceptor(declaration: unknown, where: string): InterceptorDeclaration {
  if (!isObject(declaration)) throw new TypeError(`${where} must be an object`);
  for (const key of ['module', 'method'] as const) {
    const value = declaration[key];
    if (typeof value !== 'string' || value === '') throw new TypeError(`${where}.${key} must be a non-empty string`);
  }
  if (declaration.export !== undefined && typeof declaration.export !== 'string') {
    throw new TypeError(`${where}.export must be a string`);
  }
  for (const hook of ['before', 'after', 'onThrow'] as const) {
    if (declaration[hook] !== undefined && typeof declaration[hook] !== 'function') {
      throw new TypeError(`${where}.${hook} must be a function`);
    }
  }
  checkVersions(declaration.module as string, declaration.versions, where);
  return declaration as unknown as InterceptorDeclaration;
}

/**
 * A package target must say which versions it fits, with an upper bound: a plugin written for
 * express 5 has not seen express 6, and patching what it has not seen is how agents break apps.
 * Built-ins and the app's files have no package version to compare with.
 */
function checkVersions(module: string, versions: unknown, where: string): void {
  const kind = moduleKindOf(module);
  if (kind !== 'package') {
    if (versions !== undefined) throw new TypeError(`${where}.versions applies to packages only, not to ${kind} ${module}`);
    return;
  }
  if (!isPackageName(module)) {
    throw new TypeError(`${where}.module ${JSON.stringify(module)} is not a package name (a file path starts with ./)`);
  }
  if (typeof versions !== 'string') throw new TypeError(`${where}.versions must be a semver range for package ${module}`);
  // Loaded here, for package targets only: most plugins target built-ins or the app's files.
  const SemverRange = require('semver/classes/range') as typeof Range;
  let range: Range;
  try {
    range = new SemverRange(versions);
  } catch {
    throw new TypeError(`${where}.versions ${JSON.stringify(versions)} is not a semver range`);
  }
  if (!range.set.every(hasUpperBound)) {
    throw new TypeError(`${where}.versions ${JSON.stringify(versions)} has no upper bound (write e.g. ">=4 <6")`);
  }
}

/** A comparator set is bounded by a `<`/`<=` comparator or an exact version (`*` is an empty exact one). */
function hasUpperBound(comparators: readonly { operator: string; value: string }[]): boolean {
  return comparators.some(({ operator, value }) => operator.startsWith('<') || ((operator === '' || operator === '=') && value !== ''));
}

function checkService(declaration: unknown, where: string): ServiceDeclaration {
  if (!isObject(declaration)) throw new TypeError(`${where} must be an object`);
  const { type, service } = declaration;
  const serviceName = (type as { serviceName?: unknown } | undefined)?.serviceName;
  if (typeof serviceName !== 'string' || serviceName === '') {
    throw new TypeError(`${where}.type must be a class with a static serviceName string`);
  }
  if (!isObject(service) && typeof service !== 'function') throw new TypeError(`${where}.service must be an object`);
  return declaration as unknown as ServiceDeclaration;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
