import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeError, logger } from '../logger';
import { moduleKindOf, type InterceptorDeclaration } from './define-plugin';
import { unwrap, wrap, type Interceptor } from './interceptor';
import type { LoadedModule, WatchedModules } from './module-hooks';

export interface PluginState {
  readonly name: string;
  /** Load order: interceptors on one method run in the order their plugins loaded (an upgrade keeps its place). */
  rank: number;
  enabled: boolean;
  readonly sites: Set<Site>;
}

export interface Binding {
  readonly plugin: PluginState;
  /** Position of the declaration in its plugin, the tie-breaker within one plugin. */
  readonly rank: number;
  readonly declaration: InterceptorDeclaration;
}

/** One intercepted method: an owner object and a method name, with every declaration bound to it. */
export interface Site {
  readonly owner: object;
  readonly method: string;
  readonly bindings: Binding[];
  /** Namespaces whose named export must follow `owner[method]` (see LoadedModule.namespace). */
  readonly mirrors: Set<object>;
  readonly builtin: boolean;
}

export interface Watch extends Binding {
  /** The module key it watches (see moduleKey). */
  readonly key: string;
}

/**
 * A plugin's interceptors checked against the modules loaded now, ready to go live in one
 * synchronous step (`commit`): what installing or upgrading a plugin at run time applies.
 */
export interface StagedPlugin {
  readonly plugin: PluginState;
  readonly watches: readonly Watch[];
  readonly bindings: readonly { watch: Watch; owner: object; loaded: LoadedModule }[];
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
 * Plugins can also come and go at run time: `stage` checks one against the modules loaded so
 * far, `commit` puts it live (replacing an older version in the same step), `remove` takes it away.
 */
export class Instrumentation {
  private readonly plugins = new Map<string, PluginState>();
  private readonly watches = new Map<string, Watch[]>();
  private readonly sites = new Map<object, Map<string, Site>>();
  /** Every load of a watched module, by key: what a plugin installed later binds to. */
  private readonly loads = new Map<string, LoadedModule[]>();
  /** Plugins' ranks only grow: one installed later runs after those loaded before it. */
  private nextRank = 0;
  /** plugin + package directory pairs already reported as outside the plugin's range: one line each. */
  private readonly versionReported = new Set<string>();

  constructor(private readonly options: InstrumentationOptions) {}

  /** Registers a loaded plugin, enabled, and the modules its interceptors need. */
  addPlugin(name: string, declarations: readonly InterceptorDeclaration[]): void {
    const plugin: PluginState = { name, rank: this.nextRank++, enabled: true, sites: new Set() };
    this.plugins.set(name, plugin);
    for (const watch of this.watchesOf(plugin, declarations)) this.addWatch(watch);
  }

  /** The modules to watch for every registered plugin. */
  watched(): WatchedModules {
    return modulesOf(this.watches.keys());
  }

  /** The modules a plugin's declarations target, by the keys they are watched under. */
  modulesOf(declarations: readonly InterceptorDeclaration[]): WatchedModules {
    return modulesOf(new Set(declarations.map((declaration) => this.moduleKey(declaration.module))));
  }

  /** Binds the declarations watching `loaded.module` to its exports. A failing declaration costs only itself. */
  onModuleLoaded(loaded: LoadedModule): void {
    this.remember(loaded);
    for (const watch of this.watches.get(loaded.module) ?? []) {
      const { plugin, declaration } = watch;
      try {
        if (!this.fitsVersion(watch, loaded)) continue;
        this.bind(watch, ownerOf(loaded.exports, declaration.export), loaded);
      } catch (error) {
        logger.warn({ err: error }, `plugin ${plugin.name}: cannot intercept ${describeTarget(declaration)}: ${describeError(error)}`);
      }
    }
  }

  /**
   * Checks a plugin's declarations against every load of their modules seen so far and `loaded`
   * (what `require` holds now): all or nothing, it throws naming the first method that cannot be
   * wrapped. Nothing changes until `commit`. A module not loaded yet is bound when it loads.
   */
  stage(name: string, declarations: readonly InterceptorDeclaration[], loaded: readonly LoadedModule[]): StagedPlugin {
    for (const load of loaded) this.remember(load);
    const plugin: PluginState = { name, rank: this.nextRank++, enabled: true, sites: new Set() };
    const watches = this.watchesOf(plugin, declarations);
    const bindings: { watch: Watch; owner: object; loaded: LoadedModule }[] = [];
    for (const watch of watches) {
      for (const load of this.loads.get(watch.key) ?? []) {
        try {
          if (!this.fitsVersion(watch, load)) continue;
          const owner = ownerOf(load.exports, watch.declaration.export);
          checkWrappable(owner, watch.declaration.method);
          bindings.push({ watch, owner, loaded: load });
        } catch (error) {
          throw new Error(`cannot intercept ${describeTarget(watch.declaration)}: ${describeError(error)}`, { cause: error });
        }
      }
    }
    return { plugin, watches, bindings };
  }

  /**
   * Puts a staged plugin live, in one synchronous step: with `replacing` (an upgrade, same name),
   * the old plugin's hooks leave every method and the new one's arrive in the same step, each
   * wrapper staying in place, so no call sees a mix or a gap. The new plugin keeps the old one's
   * place in the order and its switch. Logs nothing until every method is set.
   */
  commit(staged: StagedPlugin, replacing?: string): void {
    const { plugin } = staged;
    const old = replacing === undefined ? undefined : this.plugins.get(replacing);
    const touched = new Set<Site>();
    if (old !== undefined) {
      plugin.rank = old.rank;
      plugin.enabled = old.enabled;
      this.detach(old, touched);
    }
    this.plugins.set(plugin.name, plugin);
    for (const watch of staged.watches) this.addWatch(watch);
    for (const { watch, owner, loaded } of staged.bindings) {
      const site = this.siteOf(owner, watch.declaration.method, moduleKindOf(loaded.module) === 'builtin');
      // One owner can come through two loads (a CommonJS package both required and imported).
      if (!site.bindings.includes(watch)) site.bindings.push(watch);
      site.bindings.sort((a, b) => a.plugin.rank - b.plugin.rank || a.rank - b.rank);
      if (loaded.namespace !== undefined && watch.declaration.export === undefined && watch.declaration.method in loaded.namespace) {
        site.mirrors.add(loaded.namespace);
      }
      plugin.sites.add(site);
      touched.add(site);
    }
    this.refreshAll(touched, plugin.name);
  }

  /**
   * Takes a plugin away: its hooks leave every method (a method no plugin is left on gets its
   * original function back, the very same), and modules that load later are not bound to it.
   */
  remove(pluginName: string): void {
    const plugin = this.plugins.get(pluginName);
    if (plugin === undefined) throw new Error(`no plugin named ${pluginName} is loaded`);
    const touched = new Set<Site>();
    this.detach(plugin, touched);
    this.plugins.delete(pluginName);
    this.refreshAll(touched, pluginName);
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

  private watchesOf(plugin: PluginState, declarations: readonly InterceptorDeclaration[]): Watch[] {
    return declarations.map((declaration, rank) => ({ plugin, rank, declaration, key: this.moduleKey(declaration.module) }));
  }

  private addWatch(watch: Watch): void {
    const list = this.watches.get(watch.key) ?? [];
    list.push(watch);
    this.watches.set(watch.key, list);
  }

  /** A module's loads are kept once each (an app may both require and import it). */
  private remember(loaded: LoadedModule): void {
    const list = this.loads.get(loaded.module) ?? [];
    if (!list.some((seen) => seen.exports === loaded.exports && seen.namespace === loaded.namespace)) list.push(loaded);
    this.loads.set(loaded.module, list);
  }

  /** A package target outside its declared range is left alone, with one log line. */
  private fitsVersion({ plugin, declaration }: Watch, loaded: LoadedModule): boolean {
    if (declaration.versions === undefined) return true;
    const version = packageVersion(loaded.packageDir);
    // semver is loaded only for a plugin that targets a package (built-ins and files have no version).
    const satisfies = require('semver/functions/satisfies') as typeof import('semver/functions/satisfies');
    if (satisfies(version, declaration.versions)) return true;
    this.reportVersion(plugin.name, loaded, version, declaration.versions);
    return false;
  }

  /** Takes a plugin's bindings off its sites (collected in `touched`) and its watches off the modules. */
  private detach(plugin: PluginState, touched: Set<Site>): void {
    for (const site of plugin.sites) {
      for (let index = site.bindings.length - 1; index >= 0; index -= 1) {
        if (site.bindings[index]?.plugin === plugin) site.bindings.splice(index, 1);
      }
      touched.add(site);
    }
    plugin.sites.clear();
    for (const [key, list] of this.watches) {
      const kept = list.filter((watch) => watch.plugin !== plugin);
      if (kept.length > 0) this.watches.set(key, kept);
      else this.watches.delete(key);
    }
  }

  /** Sets every touched site's list, then syncs built-ins once; failures are logged after all are set. */
  private refreshAll(sites: Iterable<Site>, pluginName: string): void {
    let builtins = false;
    const failures: [Site, unknown][] = [];
    for (const site of sites) {
      try {
        builtins = this.refresh(site) || builtins;
      } catch (error) {
        failures.push([site, error]);
      }
    }
    if (builtins) this.options.syncBuiltinExports();
    for (const [site, error] of failures) {
      logger.warn({ err: error }, `plugin ${pluginName}: cannot rewrap ${site.method}: ${describeError(error)}`);
    }
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

function modulesOf(keys: Iterable<string>): WatchedModules {
  const modules: WatchedModules = { builtins: [], packages: [], files: [] };
  for (const key of keys) {
    const kind = moduleKindOf(key);
    modules[kind === 'builtin' ? 'builtins' : kind === 'package' ? 'packages' : 'files'].push(key);
  }
  return modules;
}

/** What `wrap` would refuse: an accessor, or no function (a wrapper of ours counts as one). */
function checkWrappable(owner: object, method: string): void {
  const own = Object.getOwnPropertyDescriptor(owner, method);
  if (own !== undefined && !('value' in own)) throw new TypeError(`${method} is an accessor property`);
  const current: unknown = own === undefined ? Reflect.get(owner, method) : own.value;
  if (typeof current !== 'function') throw new TypeError(`${method} is not a function`);
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
