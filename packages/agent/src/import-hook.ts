/**
 * The ES module side of the agent's module hooks (register.ts has the rest): import-in-the-middle's
 * loader hook, registered only for the modules some plugin targets, in-thread with
 * `module.registerHooks()` where Node supports it (22.22.3, 24.11.1 and later), else off-thread
 * with `module.register()`. Its include list can grow (a plugin installed at run time), and it
 * notes every module an `import` resolved without its wrapper, whose importers' bindings nobody
 * can change after load: an install that targets one is refused. This module is also imported
 * in the loaders' thread (for `trackImports`), so it starts nothing when loaded.
 */
import Module, { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

/** What the import side (in this thread or the loaders' thread) is asked when a plugin is installed at run time. */
export type AskImports = (add: string[], ask: string[]) => Promise<string[]>;

/** Registers the agent's import hook for `include`; returns how to extend its list later. */
export function registerImportHook(include: string[]): AskImports {
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
  // file, imported there for trackImports, starts nothing.
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

export interface ImportHook {
  applyOptions(options: { include: string[] }): void;
  resolveSync: (specifier: string, context: ResolveContext, next: unknown) => { url: string };
  loadSync: unknown;
}

export interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
}

/** The search parameter import-in-the-middle marks its wrapper modules' URLs with. */
const WRAPPED = /[?&]iitm\b/;

export interface ImportTracker {
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
  register(importHookSource(), pathToFileURL(__filename), { data: { include, port: port2 }, transferList: [port2] });
  const waiting = new Map<number, (imported: string[]) => void>();
  let next = 0;
  // The port keeps the process alive only while an answer is awaited.
  const settle = (id: number, imported: string[] | undefined): void => {
    if (imported !== undefined) waiting.get(id)?.(imported);
    waiting.delete(id);
    if (waiting.size === 0) port1.unref();
  };
  port1.on('message', ({ id, imported }: { id: number; imported: string[] }) => settle(id, imported));
  port1.unref();
  return (add, ask) =>
    new Promise<string[]>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        settle(id, undefined);
        reject(new Error(`the agent's import hook did not answer within ${LOADER_ANSWER_MS} ms`));
      }, LOADER_ANSWER_MS).unref();
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
