import { createHook, type AsyncHook } from 'node:async_hooks';

/**
 * What a plugin creates while the agent runs its own code (its module's evaluation, its `stop`),
 * so that an uninstall can say what it did not release. An async_hooks hook is enabled only for
 * that code, not while the plugin's interceptors run on the service's calls (it would slow every
 * promise of the service): timers and handles made there, or armed later from a callback, are not
 * seen. Resources are held weakly; what counts as released: a timer cleared or run out, a handle
 * (socket, server, watcher) no longer among the process's active handles.
 */
export class PluginResources {
  private readonly created: { kind: ResourceKind; resource: WeakRef<object> }[] = [];

  add(type: string, resource: object): void {
    const kind = KINDS[type];
    if (kind !== undefined) this.created.push({ kind, resource: new WeakRef(resource) });
  }

  /**
   * What is still held, by kind (`timers:2,sockets:1`); undefined when nothing is. Forgets what
   * it tracked: asked once, when the plugin is gone.
   */
  leaked(): string | undefined {
    const active = activeHandles();
    const counts = new Map<ResourceKind, number>();
    for (const { kind, resource } of this.created.splice(0)) {
      const held = resource.deref();
      if (held === undefined) continue;
      const alive = kind === 'timers' ? (held as { _destroyed?: boolean })._destroyed !== true : active.has(held);
      if (alive) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return counts.size === 0 ? undefined : [...counts].map(([kind, count]) => `${kind}:${count}`).join(',');
  }
}

type ResourceKind = 'timers' | 'sockets' | 'handles';

/** The async resource types counted, by kind; requests and ticks end by themselves and are not. */
const KINDS: Record<string, ResourceKind | undefined> = {
  Timeout: 'timers',
  Immediate: 'timers',
  TCPWRAP: 'sockets',
  TCPSERVERWRAP: 'sockets',
  PIPEWRAP: 'sockets',
  PIPESERVERWRAP: 'sockets',
  UDPWRAP: 'sockets',
  TLSWRAP: 'sockets',
  FSEVENTWRAP: 'handles',
  STATWATCHER: 'handles',
  SIGNALWRAP: 'handles',
  PROCESSWRAP: 'handles',
};

/**
 * The handles keeping the process's loop busy, and the native handle each JS owner (a net.Socket,
 * a Server) wraps. Not the standard streams: the first console.log of a plugin's code opens
 * stdout's, which is the process's, not the plugin's.
 */
function activeHandles(): Set<unknown> {
  const active = new Set<unknown>();
  // Undocumented but present from Node 0.x to 24; getActiveResourcesInfo() gives only type names.
  const list = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const standard = new Set<unknown>([process.stdout, process.stderr]);
  for (const handle of list) {
    if (standard.has(handle)) continue;
    active.add(handle);
    const inner = (handle as { _handle?: unknown } | null)?._handle;
    if (inner !== undefined && inner !== null) active.add(inner);
  }
  return active;
}

let tracking: PluginResources | undefined;
let hook: AsyncHook | undefined;

/** Runs `fn` (a plugin's own code), recording into `resources` what it creates synchronously. */
export function trackResources<T>(resources: PluginResources, fn: () => T): T {
  hook ??= createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      // No logging here: it would create resources inside the hook.
      if (type !== 'PROMISE') tracking?.add(type, resource as object);
    },
  });
  const previous = tracking;
  tracking = resources;
  if (previous === undefined) hook.enable();
  try {
    return fn();
  } finally {
    tracking = previous;
    if (previous === undefined) hook.disable();
  }
}
