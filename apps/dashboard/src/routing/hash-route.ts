import { useSyncExternalStore } from 'react';

/**
 * Hash routing (`/#/events?level=important`): the backend serves the dashboard's files as they
 * are, and any path after `#` reaches the same index.html, so every view (with its filters) can
 * be bookmarked, shared and reloaded.
 */
export interface Route {
  /** `/`, `/instances/<id>`, `/events`... */
  readonly path: string;
  readonly params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [path = '', query = ''] = raw.split(/\?(.*)/s, 2);
  return { path: path.startsWith('/') ? path : `/${path}`, params: new URLSearchParams(query) };
}

/** The `href` of a view: `#/events?level=important`. */
export function routeHref(path: string, params?: URLSearchParams): string {
  const query = params?.toString();
  return `#${path}${query ? `?${query}` : ''}`;
}

const listeners = new Set<() => void>();
let cachedHash: string | null = null;
let cachedRoute: Route = parseHash('');

function notify(): void {
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  if (listeners.size === 0) {
    window.addEventListener('hashchange', notify);
    window.addEventListener('popstate', notify);
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      window.removeEventListener('hashchange', notify);
      window.removeEventListener('popstate', notify);
    }
  };
}

function currentRoute(): Route {
  if (window.location.hash !== cachedHash) {
    cachedHash = window.location.hash;
    cachedRoute = parseHash(cachedHash);
  }
  return cachedRoute;
}

/** The current route; components re-render when it changes. */
export function useRoute(): Route {
  return useSyncExternalStore(subscribe, currentRoute);
}

/**
 * Goes to a view. `replace` rewrites the current history entry (typing in a search box should
 * not leave one entry per key in the back button).
 */
export function navigate(path: string, params?: URLSearchParams, options: { replace?: boolean } = {}): void {
  const href = routeHref(path, params);
  if (href === window.location.hash) return;
  // pushState does not fire hashchange, so listeners are told here.
  if (options.replace) window.history.replaceState(null, '', href);
  else window.history.pushState(null, '', href);
  notify();
}
