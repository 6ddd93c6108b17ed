import { createContext, useContext, useEffect, useSyncExternalStore } from 'react';
import type { ViewRequest } from '@vigil/protocol';
import type { LiveState, LiveStore } from './live-store';

/** The page's one live store; components reach it through this context, never through a module global. */
export const LiveStoreContext = createContext<LiveStore | null>(null);

export function useLiveStore(): LiveStore {
  const store = useContext(LiveStoreContext);
  if (!store) throw new Error('useLiveStore needs a LiveStoreContext provider');
  return store;
}

/**
 * A part of the live state. The selector must return a part of the state as it is (not a new
 * object), so a component re-renders only when that part changed.
 */
export function useLive<T>(select: (state: LiveState) => T): T {
  const store = useLiveStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}

/** Tells the backend what this page shows; each page calls it once with its view. */
export function useLiveView(view: ViewRequest): void {
  const store = useLiveStore();
  // Compared as text: a page may build an equal view object on every render.
  const key = JSON.stringify(view);
  useEffect(() => store.setView(JSON.parse(key) as ViewRequest), [store, key]);
}
