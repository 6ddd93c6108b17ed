/**
 * State that must be shared by every copy of @vigil/agent loaded in one process (the copy
 * started by `register` and the copy a plugin resolves with `require('@vigil/agent')` may be
 * different files), so it lives on globalThis under a registered symbol instead of in a module.
 */
export function sharedGlobal<T extends object>(key: string, create: () => T): T {
  const slots = globalThis as unknown as Record<symbol, T | undefined>;
  const symbol = Symbol.for(key);
  return (slots[symbol] ??= create());
}
