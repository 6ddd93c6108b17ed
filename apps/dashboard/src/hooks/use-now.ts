import { useSyncExternalStore } from 'react';

const TICK_MS = 1000;

// One shared timer for every subscriber, so all relative times on screen change together
// and only the components that show time re-render each second.
const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const notify of listeners) notify();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

function getNow(): number {
  return now;
}

/** This browser's clock, epoch ms, updated every second. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, getNow);
}
