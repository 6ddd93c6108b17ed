/**
 * The agent's entry point: `node --import @vigil/agent/register app.mjs`,
 * `node --require @vigil/agent/register app.cjs`, or either in NODE_OPTIONS.
 *
 * Every detail of how the agent meets Node's module loaders lives in this file, so that moving
 * from `module.register()` (off-thread hooks, Node 20) to `module.registerHooks()` changes only
 * this file and import-hook.ts:
 * - built-ins are loaded and reported at once (patching their exports reaches CommonJS and, after
 *   syncBuiltinESMExports, ES module named imports);
 * - packages and the app's own files are reported when the app loads them: `require` through
 *   require-in-the-middle, `import` through import-in-the-middle's loader hook, registered only
 *   for the modules some plugin targets: in-thread with `module.registerHooks()` where Node
 *   supports it (22.22.3, 24.11.1 and later), else off-thread with `module.register()` (the
 *   loader hook itself, and what it tells of ES modules imported without it, in import-hook.ts);
 * - a plugin installed at run time (`watchMore`) gets the modules `require` loaded already
 *   (`loadedByRequire`), hooks for its new modules, and the answer to which of them ES modules
 *   imported before without the wrapper (the import hook notes every such resolve: `trackImports`);
 * - every `@vigil/agent` a plugin or the service asks for is this agent, even where it has a copy of its own.
 */
import Module, { isBuiltin, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { registerImportHook, type AskImports } from './import-hook';
import type { LoadedModule, ModuleHooks, WatchedModules } from './plugins/module-hooks';

const STARTED = Symbol.for('vigil.agent.started');

type OnLoad = (loaded: LoadedModule) => void;

function createModuleHooks(): ModuleHooks {
  let onLoad: OnLoad = () => undefined;
  /** Set once the import hook runs; `sinceStart` when it ran before the service's code. */
  let imports: { ask: AskImports; sinceStart: boolean } | undefined;
  const watched = new Set<string>();
  /** Starts reporting the packages and files not watched yet; returns their import keys. */
  const watchNew = ({ packages, files }: WatchedModules): string[] => {
    const fresh = { builtins: [], packages: packages.filter((key) => !watched.has(key)), files: files.filter((key) => !watched.has(key)) };
    if (fresh.packages.length + fresh.files.length === 0) return [];
    for (const key of [...fresh.packages, ...fresh.files]) watched.add(key);
    watchRequires(fresh, onLoad);
    watchImports(fresh, onLoad);
    return importKeys(fresh);
  };
  return {
    watch(modules, listener) {
      onLoad = listener;
      for (const name of modules.builtins) {
        if (isBuiltin(name)) onLoad({ module: name, exports: require(name) });
      }
      const include = watchNew(modules);
      if (include.length > 0) imports = { ask: registerImportHook(include), sinceStart: true };
    },
    async watchMore(modules) {
      const include = watchNew(modules);
      const keys = [...modules.packages, ...modules.files];
      if (imports === undefined) {
        if (keys.length === 0) return { tracked: true, imported: [] };
        // From now on ES modules that import them get the wrapper; what was imported before is unknown.
        imports = { ask: registerImportHook(include), sinceStart: false };
        return { tracked: false };
      }
      const ask = importKeys(modules);
      const imported = await imports.ask(include, ask);
      // Answered by import key (a package name or a file URL), reported by watch key.
      return imports.sinceStart
        ? { tracked: true, imported: keys.filter((_key, index) => imported.includes(ask[index] as string)) }
        : { tracked: false };
    },
    loadedByRequire,
    syncBuiltinExports: syncBuiltinESMExports,
  };
}

/** How the import hook names watched modules: packages by name, files by URL (in WatchedModules order). */
function importKeys(modules: WatchedModules): string[] {
  return [...modules.packages, ...modules.files.map((file) => pathToFileURL(file).href)];
}

/**
 * The watched modules `require` has loaded: built-ins (required now, they are always there), the
 * app's files in the require cache, and every copy of a package whose main entry is in it.
 */
function loadedByRequire(modules: WatchedModules): LoadedModule[] {
  const found: LoadedModule[] = modules.builtins
    .filter((name) => isBuiltin(name))
    .map((name) => ({ module: name, exports: require(name) }));
  for (const file of modules.files) {
    const cached = require.cache[file] ?? require.cache[resolvedOrSelf(file)];
    if (cached !== undefined) found.push({ module: file, exports: cached.exports });
  }
  const files = Object.keys(require.cache);
  for (const name of modules.packages) {
    const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
    const dirs = new Set(
      files.filter((file) => file.includes(marker)).map((file) => file.slice(0, file.lastIndexOf(marker) + marker.length - 1)),
    );
    for (const dir of dirs) {
      const cached = require.cache[resolvedOrSelf(dir)];
      if (cached !== undefined) found.push({ module: name, exports: cached.exports, packageDir: dir });
    }
  }
  return found;
}

function resolvedOrSelf(file: string): string {
  try {
    return require.resolve(file);
  } catch {
    return file;
  }
}

/** CommonJS: require-in-the-middle reports a package's main entry, or a file by its absolute path. */
function watchRequires(modules: WatchedModules, onLoad: OnLoad): void {
  const { Hook } = require('require-in-the-middle') as typeof import('require-in-the-middle');
  new Hook([...modules.packages, ...modules.files], { internals: false }, (exports, name, basedir) => {
    // A file is reported by base name (extension dropped) and directory; rarely two watched files share both.
    const files = modules.files.filter((file) => path.dirname(file) === basedir && path.parse(file).name === name);
    const file = files.length > 1 ? files.find((candidate) => require.cache[candidate]?.exports === exports) : files[0];
    if (file !== undefined) onLoad({ module: file, exports });
    else onLoad({ module: name, exports, packageDir: basedir });
    return exports;
  });
}

/**
 * ES modules: import-in-the-middle's loader wraps the watched modules (and only those, so the
 * rest of the app's graph loads untouched) and reports their namespace. A CommonJS module
 * imported from ESM is reported by its module.exports, like a require, plus the namespace that
 * named imports read. Each call listens for its own modules; the loader's list is extended apart.
 */
function watchImports(modules: WatchedModules, onLoad: OnLoad): void {
  const { Hook } = require('import-in-the-middle') as typeof import('import-in-the-middle');
  new Hook([...modules.packages, ...modules.files], (namespace, name, baseDir, format) => {
    const cjs = format === 'commonjs';
    onLoad({
      module: name,
      exports: cjs ? namespace.default : namespace,
      ...(cjs ? { namespace } : {}),
      ...(baseDir === undefined ? {} : { packageDir: baseDir }),
    });
  });
}

/**
 * Every `@vigil/agent` the process asks for is this agent, whether or not the asker (a plugin
 * kept anywhere, as Sermant's plugins don't bundle the framework either; one that carries its
 * own copy in its node_modules; or the service's own code, fetching the HealthService from the
 * copy it installed) could resolve one of its own: the agent's state is one per
 * process, and a copy of another version would offer another API under the same name.
 * - `require('@vigil/agent')`: resolved to this agent's entry, before Node looks anywhere.
 * - `import ... from '@vigil/agent'` (an ES module plugin): Node resolves it itself, to a copy if
 *   there is one (and fails if not: no hook reaches the agent's synchronous require() of a plugin
 *   on Node 20), and loads that copy, CommonJS, through Module._load by its file name, where it
 *   gets this agent's exports instead. Named imports are the copy's export names, read from this
 *   agent's exports.
 */
function provideAgentPackage(): void {
  const loader = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
    _load: (request: string, ...rest: unknown[]) => unknown;
    _cache: Record<string, { exports: unknown; loaded: boolean } | undefined>;
  };
  const agentEntry = require.resolve('./index');
  // Where any installed copy's entry sits: node_modules/@vigil/agent/dist/index.js (npm, pnpm, yarn).
  const copyEntry = path.join('node_modules', '@vigil', 'agent', path.relative(path.dirname(path.dirname(agentEntry)), agentEntry));
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    return request === '@vigil/agent' ? agentEntry : resolve.call(this, request, ...rest);
  };
  const load = loader._load;
  loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
    if (typeof request !== 'string' || !request.endsWith(copyEntry) || request === agentEntry) return load.call(this, request, ...rest);
    const agent = require('./index') as unknown;
    // The import made the copy's module object already (to read its export names); it is filled with this agent.
    const pending = loader._cache[request];
    if (pending !== undefined && !pending.loaded) {
      pending.exports = agent;
      pending.loaded = true;
    }
    return agent;
  };
}

function reportStartFailure(error: unknown): void {
  try {
    (require('./logger') as typeof import('./logger')).logger.error(
      { err: error },
      'vigil agent failed to start; the service runs without it',
    );
  } catch {
    // The logger itself could not load (e.g. a broken install): fall back to a plain line.
    process.stderr.write(`vigil agent failed to start; the service runs without it: ${String(error)}\n`);
  }
}

const host = globalThis as unknown as Record<symbol, boolean | undefined>;
// One agent per process: a second load (--require and --import both, two copies of the package)
// is a no-op. Worker threads inherit the flags, and so does the loader-hooks thread that
// module.register() starts (nodejs/node#52377); neither starts an agent of its own.
if (isMainThread && !host[STARTED]) {
  host[STARTED] = true;
  try {
    provideAgentPackage();
    // Required here, not imported at the top, so that even a failure to load the agent's own
    // modules is caught and the host keeps running.
    (require('./agent') as typeof import('./agent')).start(createModuleHooks());
  } catch (error) {
    reportStartFailure(error);
  }
}
