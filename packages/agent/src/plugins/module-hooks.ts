/**
 * The contract between the agent core and `register`, which owns every detail of Node's module
 * loaders. The core says which modules it wants to see; `register` reports each as it loads.
 */

/** Modules to watch, by the key they are reported under. */
export interface WatchedModules {
  /** Built-in names without `node:` (`http`); reported at once, since built-ins are always there. */
  builtins: string[];
  /** Package names (`express`): reported when the app first requires or imports the package's main entry. */
  packages: string[];
  /** Absolute paths of the app's own files: reported when the app first requires or imports them. */
  files: string[];
}

export interface LoadedModule {
  /** The key it was watched under: a built-in name, a package name or an absolute file path. */
  module: string;
  /** Its exports as `require` returns them; for an ES module, its namespace. */
  exports: unknown;
  /**
   * For a CommonJS module imported from an ES module: the namespace that importers' named
   * bindings (`import { fn } from`) read, which must follow what is set on `exports`.
   */
  namespace?: object;
  /** For a package: its directory, whose package.json gives the installed version. */
  packageDir?: string;
}

/**
 * What the import side knows of modules a plugin installed at run time targets (see
 * `ModuleHooks.watchMore`): the keys some ES module imported without the agent's import hook
 * (their bindings in importers cannot be patched), or not `tracked` when the hook was not
 * running since the service started, so nobody can tell.
 */
export type ImportsBefore = { tracked: true; imported: string[] } | { tracked: false };

export interface ModuleHooks {
  /** Calls `onLoad` for every watched module the application loads, once per load. */
  watch(modules: WatchedModules, onLoad: (loaded: LoadedModule) => void): void;
  /**
   * Watches more modules from now on (a plugin installed at run time), reporting them to the
   * `onLoad` given to `watch`, and says which of them ES modules imported before without the
   * agent's import hook. Watching is never undone: a module watched with no plugin on it costs
   * a lookup when it loads.
   */
  watchMore(modules: WatchedModules): Promise<ImportsBefore>;
  /** The watched modules loaded already through `require` (and every built-in asked for): their exports as they are now. */
  loadedByRequire(modules: WatchedModules): LoadedModule[];
  /** Makes ES module named imports of built-ins see functions just wrapped or unwrapped on their exports. */
  syncBuiltinExports(): void;
}
