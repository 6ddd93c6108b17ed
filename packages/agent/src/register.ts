/**
 * The agent's entry point: `node --import @vigil/agent/register app.mjs`,
 * `node --require @vigil/agent/register app.cjs`, or either in NODE_OPTIONS.
 *
 * Every detail of how the agent meets Node's module loaders lives in this file, so that adding
 * require/import hooks later (module.register(), then module.registerHooks()) changes only this
 * file. For now there are no hooks: interceptor targets are loaded here, once, at start, and
 * patched in place. That covers Node built-ins for CJS and ESM apps alike (an ESM import of a
 * built-in shares its prototypes) and CommonJS packages the application resolves from its cwd.
 */
import { createRequire, isBuiltin, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { ModuleLoader } from './plugins/plugin-loader';

const STARTED = Symbol.for('vigil.agent.started');

/**
 * Built-ins come from Node; packages are resolved and loaded as code in the application's
 * directory would, or undefined when the application does not have them.
 */
function createModuleLoader(): ModuleLoader {
  const hostRequire = createRequire(path.join(process.cwd(), 'vigil-agent-host.js'));
  return (moduleName) => {
    if (isBuiltin(moduleName)) return require(moduleName);
    let resolved: string;
    try {
      resolved = hostRequire.resolve(moduleName);
    } catch {
      return undefined;
    }
    return hostRequire(resolved);
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
// is a no-op, and worker threads, which inherit the flags, do not start agents of their own.
if (isMainThread && !host[STARTED]) {
  host[STARTED] = true;
  try {
    // Required here, not imported at the top, so that even a failure to load the agent's own
    // modules is caught and the host keeps running.
    (require('./agent') as typeof import('./agent')).start(createModuleLoader());
    // ESM named imports of built-ins (`import { createServer } from 'node:net'`) are copies of
    // the exports; publish the patched functions to them.
    syncBuiltinESMExports();
  } catch (error) {
    reportStartFailure(error);
  }
}
