import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeError, logger } from '../logger';
import { moduleKindOf, type InterceptorDeclaration } from './define-plugin';
import { unwrap, wrap, type Interceptor } from './interceptor';
import type { LoadedModule, WatchedModules } from './module-hooks';

interface PluginState {
  readonly name: string;
  /** Load order: interceptors on one method run in the order their plugins loaded. */
  readonly rank: number;
  enabled: boolean;
  readonly sites: Set<Site>;
}

interface Binding {
  readonly plugin: PluginState;
  /** Position of the declaration in its plugin, the tie-breaker within one plugin. */
  readonly rank: number;
  readonly declaration: InterceptorDeclaration;
}

/** One intercepted method: an owner object and a method name, with every declaration bound to it. */
interface Site {
  readonly owner: object;
  readonly method: string;
  readonly bindings: Binding[];
  /** Namespaces whose named export must follow `owner[method]` (see LoadedModule.namespace). */
  readonly mirrors: Set<object>;
  readonly builtin: boolean;
}

interface Watch {
  readonly plugin: PluginState;
  readonly rank: number;
  readonly declaration: InterceptorDeclaration;
}

export interface InstrumentationOptions {
  /** Where the app's own files are looked up: the directory the service starts in. */
  appRoot: string;
  syncBuiltinExports: () => void;
}

/**
 * Binds the plugins' interceptor declarations to the modules the app loads, and turns plugins
 * on and off. Every method it wraps is a site whose interceptor list is recomputed from the
 * enabled plugins' bindings whenever a binding is added or a plugin is switched, so a disabled
 * plugin's hooks are gone from every method it touched, and come back when it is enabled.
 */
export class Instrumentation {
  private readonly plugins = new Map<string, PluginState>();
  private readonly watches = new Map<string, Watch[]>();
  private readonly sites = new Map<object, Map<string, Site>>();
  /** plugin + package directory pairs already reported as outside the plugin's range: one line each. */
  private readonly versionReported = new Set<string>();

  constructor(private readonly options: InstrumentationOptions) {}

  /** Registers a loaded plugin, enabled, and the modules its interceptors need. */
  addPlugin(name: string, declarations: readonly InterceptorDeclaration[]): void {
    const plugin: PluginState = { name, rank: this.plugins.size, enabled: true, sites: new Set() };
    this.plugins.set(name, plugin);
    declarations.forEach((declaration, rank) => {
      const key = this.moduleKey(declaration.module);
      const list = this.watches.get(key) ?? [];
      list.push({ plugin, rank, declaration });
      this.watches.set(key, list);
    });
  }

  /** The modules to watch for every registered plugin. */
  watched(): WatchedModules {
    const modules: WatchedModules = { builtins: [], packages: [], files: [] };
    for (const key of this.watches.keys()) {
      const kind = moduleKindOf(key);
      modules[kind === 'builtin' ? 'builtins' : kind === 'package' ? 'packages' : 'files'].push(key);
    }
    return modules;
  }

  /** Binds the declarations watching `loaded.module` to its exports. A failing declaration costs only itself. */
  onModuleLoaded(loaded: LoadedModule): void {
    let version: string | undefined;
    for (const watch of this.watches.get(loaded.module) ?? []) {
      const { plugin, declaration } = watch;
      const target = describeTarget(declaration);
      try {
        if (declaration.versions !== undefined) {
          version ??= packageVersion(loaded.packageDir);
          // semver is loaded only for a plugin that targets a package (built-ins and files have no version).
          const satisfies = require('semver/functions/satisfies') as typeof import('semver/functions/satisfies');
          if (!satisfies(version, declaration.versions)) {
            this.reportVersion(plugin.name, loaded, version, declaration.versions);
            continue;
          }
        }
        this.bind(watch, ownerOf(loaded.exports, declaration.export), loaded);
      } catch (error) {
        logger.warn({ err: error }, `plugin ${plugin.name}: cannot intercept ${target}: ${describeError(error)}`);
      }
    }
  }

  has(pluginName: string): boolean {
    return this.plugins.has(pluginName);
  }

  isEnabled(pluginName: string): boolean {
    return this.plugins.get(pluginName)?.enabled === true;
  }

  /** Switches a plugin's interceptors on or off everywhere they are bound. Throws for an unknown plugin. */
  setEnabled(pluginName: string, enabled: boolean): void {
    const plugin = this.plugins.get(pluginName);
    if (plugin === undefined) throw new Error(`no plugin named ${pluginName} is loaded`);
    if (plugin.enabled === enabled) return;
    plugin.enabled = enabled;
    let builtins = false;
    for (const site of plugin.sites) {
      try {
        builtins = this.refresh(site) || builtins;
      } catch (error) {
        const action = enabled ? 'rewrap' : 'unwrap';
        logger.warn({ err: error }, `plugin ${pluginName}: cannot ${action} ${site.method}: ${describeError(error)}`);
      }
    }
    if (builtins) this.options.syncBuiltinExports();
  }

  private moduleKey(module: string): string {
    const kind = moduleKindOf(module);
    if (kind === 'file') return path.resolve(this.options.appRoot, module);
    // `node:http` and `http` are one module; `node:test` exists only with its prefix.
    return kind === 'builtin' && module.startsWith('node:') && moduleKindOf(module.slice(5)) === 'builtin' ? module.slice(5) : module;
  }

  private bind({ plugin, rank, declaration }: Watch, owner: object, loaded: LoadedModule): void {
    const site = this.siteOf(owner, declaration.method, moduleKindOf(loaded.module) === 'builtin');
    // The same exports reach us twice when an app both requires and imports a package.
    const added = !site.bindings.some((binding) => binding.declaration === declaration);
    if (added) {
      site.bindings.push({ plugin, rank, declaration });
      site.bindings.sort((a, b) => a.plugin.rank - b.plugin.rank || a.rank - b.rank);
    }
    if (loaded.namespace !== undefined && declaration.export === undefined && declaration.method in loaded.namespace) {
      site.mirrors.add(loaded.namespace);
    }
    try {
      if (this.refresh(site)) this.options.syncBuiltinExports();
    } catch (error) {
      // Not a method that can be wrapped: forget the binding so later refreshes do not trip on it.
      if (added)
        site.bindings.splice(
          site.bindings.findIndex((binding) => binding.declaration === declaration),
          1,
        );
      throw error;
    }
    plugin.sites.add(site);
  }

  private siteOf(owner: object, method: string, builtin: boolean): Site {
    let byMethod = this.sites.get(owner);
    if (byMethod === undefined) this.sites.set(owner, (byMethod = new Map()));
    let site = byMethod.get(method);
    if (site === undefined) {
      site = { owner, method, bindings: [], mirrors: new Set(), builtin };
      byMethod.set(method, site);
    }
    return site;
  }

  /** Wraps or unwraps the site for its enabled bindings; says whether built-in exports need a sync. */
  private refresh(site: Site): boolean {
    const interceptors: Interceptor[] = site.bindings
      .filter((binding) => binding.plugin.enabled)
      .map((binding) => ({ pluginName: binding.plugin.name, hooks: binding.declaration }));
    if (interceptors.length > 0) wrap(site.owner, site.method, interceptors);
    else unwrap(site.owner, site.method);
    const current: unknown = Reflect.get(site.owner, site.method);
    for (const namespace of site.mirrors) Reflect.set(namespace, site.method, current);
    return site.builtin;
  }

  private reportVersion(pluginName: string, loaded: LoadedModule, version: string, range: string): void {
    const key = `${pluginName}\0${loaded.packageDir ?? loaded.module}`;
    if (this.versionReported.has(key)) return;
    this.versionReported.add(key);
    logger.warn(`plugin ${pluginName}: ${loaded.module} ${version} is outside its supported range ${range}; not intercepted`);
  }
}

function describeTarget(declaration: InterceptorDeclaration): string {
  return `${declaration.module}${declaration.export ? `:${declaration.export}` : ''}.${declaration.method}`;
}

function packageVersion(packageDir: string | undefined): string {
  if (packageDir === undefined) throw new Error('the package directory is unknown, so is its version');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${packageDir}/package.json has no version`);
  return version;
}

/** The object owning the declared method: the exports, or the object at a dotted path in them. */
function ownerOf(moduleExports: unknown, exportPath: string | undefined): object {
  let owner: unknown = moduleExports;
  for (const key of exportPath ? exportPath.split('.') : []) {
    owner = isObjectLike(owner) ? Reflect.get(owner, key) : undefined;
  }
  if (!isObjectLike(owner)) throw new Error(`export ${exportPath ?? '(module)'} is not an object`);
  return owner;
}

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}
