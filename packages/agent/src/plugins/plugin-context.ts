import { sharedGlobal } from '../shared-global';

/**
 * Which plugin's code is running: set by the plugin loader while it loads a plugin's module and
 * while the interceptors run a plugin's hooks, so that agent services can tell plugins apart
 * without each call naming its plugin. Synchronous scope only: work a hook defers (a callback,
 * an `await`) runs outside it. Shared across copies of the agent, like the service registry.
 */
const state = sharedGlobal('vigil.agent.pluginContext', () => ({ current: undefined as string | undefined }));

export function currentPlugin(): string | undefined {
  return state.current;
}

export function runInPlugin<T>(pluginName: string, fn: () => T): T {
  const previous = state.current;
  state.current = pluginName;
  try {
    return fn();
  } finally {
    state.current = previous;
  }
}

/**
 * `runInPlugin` without a closure, for the interceptors' hot path: makes `pluginName` current and
 * returns the previous one, which the caller must restore with `leavePlugin` (in a finally).
 */
export function enterPlugin(pluginName: string): string | undefined {
  const previous = state.current;
  state.current = pluginName;
  return previous;
}

export function leavePlugin(previous: string | undefined): void {
  state.current = previous;
}
