/**
 * The agent's entry point: `node --import @vigil/agent/register app.mjs`,
 * `node --require @vigil/agent/register app.cjs`, or either in NODE_OPTIONS.
 *
 * Every detail of how the agent meets Node's module loaders lives in this file, so that moving
 * from `module.register()` (off-thread hooks, Node 20) to `module.registerHooks()` changes only
 * this file:
 * - built-ins are loaded and reported at once (patching their exports reaches CommonJS and, after
 *   syncBuiltinESMExports, ES module named imports);
 * - packages and the app's own files are reported when the app loads them: `require` through
 *   require-in-the-middle, `import` through import-in-the-middle's loader hook, registered only
 *   for the modules some plugin targets: in-thread with `module.registerHooks()` where Node
 *   supports it (22.22.3, 24.11.1 and later), else off-thread with `module.register()`;
 * - a plugin installed at run time (`watchMore`) gets the modules `require` loaded already
 *   (`loadedByRequire`), hooks for its new modules, and the answer to which of them ES modules
 *   imported before without the wrapper (the import hook notes every such resolve: `trackImports`);
 * - every `@vigil/agent` a plugin or the service asks for is this agent, even where it has a copy of its own.
 */
import Module, { isBuiltin, register, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, isMainThread, type MessagePort } from 'node:worker_threads';
import type { LoadedModule, ModuleHooks, WatchedModules } from './plugins/module-hooks';

const STARTED = Symbol.for('vigil.agent.started');

type OnLoad = (loaded: LoadedModule) => void;

/** What the import side (in this thread or the loaders' thread) is asked when a plugin is installed at run time. */
type AskImports = (add: string[], ask: string[]) => Promise<string[]>;

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
      return imports.sinceStart ? { tracked: true, imported: keys.filter((_key, index) => imported.includes(ask[index] as string)) } : { tracked: false };
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
  const found: LoadedModule[] = modules.builtins.filter((name) => isBuiltin(name)).map((name) => ({ module: name, exports: require(name) }));
  for (const file of modules.files) {
    const cached = require.cache[file] ?? require.cache[resolvedOrSelf(file)];
    if (cached !== undefined) found.push({ module: file, exports: cached.exports });
  }
  const files = Object.keys(require.cache);
  for (const name of modules.packages) {
    const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
    const dirs = new Set(files.filter((file) => file.includes(marker)).map((file) => file.slice(0, file.lastIndexOf(marker) + marker.length - 1)));
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

/** Registers the agent's import hook for `include`; returns how to extend its list later. */
function registerImportHook(include: string[]): AskImports {
  const ask = supportsSyncHooks() ? registerHooksInThread(include) : registerHooksOffThread(include);
  // A tool loaded before the agent has loaded its copy by now; one loaded after, once the app started.
  if (!warnOfOtherCopy()) setTimeout(warnOfOtherCopy, OTHER_COPY_CHECK_DELAY_MS).unref();
  return ask;
}

/**
 * The agent's own instance of import-in-the-middle's loader, as a module of its own. Registering
 * `import-in-the-middle/hook.mjs` itself, as OpenTelemetry, dd-trace and Sentry do, would share
 * that module with them in the loaders' thread, and with it one include list: the last
 * registration's list wins, so the agent's list would stop OpenTelemetry from wrapping anything
 * else (node:http: no server spans), or OpenTelemetry's would undo the agent's. Each instance
 * keeps its own list; the first registered instance that includes a module wraps it, and its wrapper
 * reports to the one hook registry (`lib/register.js`) every Hook of the process listens to, as
 * long as the tools share one copy of import-in-the-middle. `initialize` applies the options
 * (iitm's own warns when a second instance initializes, which is expected here) and answers the
 * agent's questions on a port of its own (`trackImports`).
 */
function importHookSource(): string {
  const hook = pathToFileURL(require.resolve('import-in-the-middle/hook.mjs')).href;
  const create = pathToFileURL(require.resolve('import-in-the-middle/create-hook.mjs')).href;
  // createHook locates the hook registry from the URL it is given, so it gets hook.mjs's. This
  // file, imported there, only exports trackImports: no agent starts off the main thread.
  const source =
    `import { createHook } from ${JSON.stringify(create)};\n` +
    `import agent from ${JSON.stringify(pathToFileURL(__filename).href)};\n` +
    `const hook = createHook({ url: ${JSON.stringify(hook)} });\n` +
    `let tracker;\n` +
    `export async function resolve(specifier, context, next) {\n` +
    `  const result = await hook.resolve(specifier, context, next);\n` +
    `  tracker.resolved(specifier, context, result);\n` +
    `  return result;\n` +
    `}\n` +
    `export const { load } = hook;\n` +
    `export function initialize({ include, port }) {\n` +
    `  tracker = agent.trackImports(hook, include);\n` +
    `  port.on('message', ({ id, add, ask }) => port.postMessage({ id, imported: tracker.extend(add, ask) }));\n` +
    `  port.unref();\n` +
    `}\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

interface ImportHook {
  applyOptions(options: { include: string[] }): void;
  resolveSync: (specifier: string, context: ResolveContext, next: unknown) => { url: string };
  loadSync: unknown;
}

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
}

/** The search parameter import-in-the-middle marks its wrapper modules' URLs with. */
const WRAPPED = /[?&]iitm\b/;

interface ImportTracker {
  resolved(specifier: string, context: ResolveContext, result: { url: string }): void;
  /** Adds `add` to the include list; returns the keys of `ask` imported before without the wrapper. */
  extend(add: string[], ask: string[]): string[];
}

/**
 * The import side's bookkeeping, in whichever thread runs the hook: the include list, which can
 * grow (a plugin installed at run time), and every module an `import` resolved without the
 * wrapper (by URL, and by bare specifier for packages). Such a module's importers hold bindings
 * nobody can change, so a plugin installed later cannot patch it. Exported for the loaders' thread.
 */
export function trackImports(hook: Pick<ImportHook, 'applyOptions'>, include: string[]): ImportTracker {
  const list = [...include];
  const unwrapped = new Set<string>();
  // applyOptions adds `node:` twins to the array it gets: it gets a copy.
  hook.applyOptions({ include: [...list] });
  return {
    resolved(specifier: string, context: ResolveContext, result: { url: string }): void {
      const parent = context.parentURL ?? '';
      // A require() (in-thread hooks see those too), a wrapper importing its module, or a wrapped module.
      if (context.conditions?.includes('require') || WRAPPED.test(parent) || WRAPPED.test(result.url)) return;
      if (!result.url.startsWith('file:')) return;
      unwrapped.add(result.url);
      if (!/^(\.|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier)) unwrapped.add(specifier);
    },
    extend(add: string[], ask: string[]): string[] {
      if (add.length > 0) {
        list.push(...add);
        hook.applyOptions({ include: [...list] });
      }
      return ask.filter((key) => unwrapped.has(key));
    },
  };
}

/**
 * Whether this Node runs import-in-the-middle's loader in-thread (module.registerHooks, whose
 * load hook accepts the CommonJS source the loader leaves empty: 22.22.3, 24.11.1 and later).
 * iitm's own check: a module of its own with no imports, so asking costs nothing.
 */
function supportsSyncHooks(): boolean {
  return (require('import-in-the-middle/supports-sync-hooks.mjs') as { supportsSyncHooks(): boolean }).supportsSyncHooks();
}

/**
 * The agent's own instance of import-in-the-middle's loader (see importHookSource), in the main
 * thread through module.registerHooks. Measured on Node 22.23 and 24.22 (an ESM app of 10 and
 * of 300 modules, one plugin on an npm package, medians of 11 interleaved runs on a loaded
 * 2-core VM): the agent's start-up cost fell from +270/+200 ms CPU to +110/+90 ms (10 modules)
 * and from +510/+560 ms to +190/+130 ms (300 modules), its RSS from +26-32 MiB to +5-15 MiB:
 * no loader thread, no message per imported module. Interception is the same.
 */
function registerHooksInThread(include: string[]): AskImports {
  const { createHook } = require('import-in-the-middle/create-hook.mjs') as {
    createHook(meta: { url: string }): ImportHook;
  };
  const hook = createHook({ url: pathToFileURL(require.resolve('import-in-the-middle/hook.mjs')).href });
  const tracker = trackImports(hook, include);
  (Module as unknown as { registerHooks(hooks: { resolve: unknown; load: unknown }): void }).registerHooks({
    resolve: (specifier: string, context: ResolveContext, next: unknown) => {
      const result = hook.resolveSync(specifier, context, next);
      tracker.resolved(specifier, context, result);
      return result;
    },
    load: hook.loadSync,
  });
  return (add, ask) => Promise.resolve(tracker.extend(add, ask));
}

/** Longest wait for the loaders' thread to answer; past it the install is refused rather than hung. */
const LOADER_ANSWER_MS = 5_000;

/** module.register (Node 20): the hook runs in the loaders' thread, asked over a port. */
function registerHooksOffThread(include: string[]): AskImports {
  const { port1, port2 } = new MessageChannel();
  register(importHookSource(), pathToFileURL(__filename), { data: { include, port: port2 }, transferList: [port2 as MessagePort] });
  const waiting = new Map<number, (imported: string[]) => void>();
  let next = 0;
  port1.on('message', ({ id, imported }: { id: number; imported: string[] }) => {
    waiting.get(id)?.(imported);
    waiting.delete(id);
    if (waiting.size === 0) port1.unref();
  });
  port1.unref();
  return (add, ask) =>
    new Promise<string[]>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`the agent's import hook did not answer within ${LOADER_ANSWER_MS} ms`));
      }, LOADER_ANSWER_MS);
      waiting.set(id, (imported) => {
        clearTimeout(timer);
        resolve(imported);
      });
      port1.ref();
      port1.postMessage({ id, add, ask });
    });
}

/** When to look again for another copy of import-in-the-middle, for a tool loaded after the agent. */
const OTHER_COPY_CHECK_DELAY_MS = 1000;

/**
 * Says in one line when another copy of import-in-the-middle is loaded (a tool that brings its
 * own, e.g. an OpenTelemetry whose range does not meet the agent's): each copy's wrappers report
 * only to that copy's hooks, and of two loaders that both wrap a module, the first registered
 * wraps it. Then the agent's plugins miss every ES module such a tool wraps too (OpenTelemetry's
 * loader wraps all), or that tool misses the modules the agent wraps. Nothing at runtime can join
 * the two registries; one shared copy can. True when it warned (or cannot look). Never throws:
 * it also runs from a timer.
 */
function warnOfOtherCopy(): boolean {
  try {
    const ours = path.join(path.dirname(require.resolve('import-in-the-middle')), 'lib', 'register.js');
    const other = Object.keys(require.cache).find(
      (file) => file !== ours && file.endsWith(path.join('import-in-the-middle', 'lib', 'register.js')),
    );
    if (other === undefined) return false;
    const { version } = require('import-in-the-middle/package.json') as { version: string };
    (require('./logger') as typeof import('./logger')).logger.warn(
      `another copy of import-in-the-middle is loaded (${path.dirname(path.dirname(other))}), from another tool that ` +
        `hooks imports: an ES module both hook reaches only one of them, so plugins on npm packages and app files may ` +
        `not fire for import (require is unaffected); fix: one copy for both (npm dedupe; the agent has ${version})`,
    );
    return true;
  } catch {
    return true;
  }
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
