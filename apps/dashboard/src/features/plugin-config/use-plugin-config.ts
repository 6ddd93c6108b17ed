import { useCallback, useEffect, useState } from 'react';
import { eventListSchema, type EventRecord } from '@vigil/protocol';
import { ApiError, requestJson, withSchema } from '../../api/http';
import { useLive, useLiveStore } from '../../live/live-context';
import { fetchConfig, fetchHistory, type ConfigVersion, type PluginConfig } from './config-api';
import type { ConfigScope } from './config-route';

/** Instances report the version they applied in their beats; the page reads it again this often. */
const REFRESH_MS = 3_000;

export type LoadedConfig =
  | { state: 'loading' }
  | { state: 'failed'; message: string; status: number | null }
  | {
      state: 'loaded';
      config: PluginConfig;
      history: ConfigVersion[];
      /** For an instance's overrides: the service's configuration they apply over. */
      serviceConfig: PluginConfig | null;
      /** The plugin's config events (applied, refused with the reason) for this service or instance, newest first. */
      events: EventRecord[];
    };

/** A config event of this page's plugin, for this page's service or instance. */
function concerns(event: EventRecord, scope: ConfigScope, service: string | null): boolean {
  if (!event.type.startsWith('plugin.config-') || event.attributes.plugin !== scope.plugin) return false;
  return scope.kind === 'instance' ? event.instanceId === scope.instanceId : event.service === (service ?? scope.service);
}

const parseEvents = withSchema(eventListSchema);

/** Events about configuration of any plugin, by service or instance; the plugin's are picked here (the API filters by type, not attribute). */
async function fetchConfigEvents(scope: ConfigScope, service: string, signal: AbortSignal): Promise<EventRecord[]> {
  const params = new URLSearchParams({ type: 'plugin.config-', limit: '100' });
  if (scope.kind === 'instance') params.set('instanceId', scope.instanceId);
  else params.set('service', service);
  const { events } = await requestJson(`/api/v1/events?${params}`, parseEvents, { signal });
  return events.filter((e) => e.attributes.plugin === scope.plugin);
}

async function load(scope: ConfigScope, signal: AbortSignal): Promise<LoadedConfig> {
  const [config, history] = await Promise.all([fetchConfig(scope, signal), fetchHistory(scope, signal)]);
  const [serviceConfig, events] = await Promise.all([
    scope.kind === 'instance' ? fetchConfig({ kind: 'service', service: config.service, plugin: scope.plugin }, signal) : null,
    fetchConfigEvents(scope, config.service, signal),
  ]);
  return { state: 'loaded', config, history, serviceConfig, events };
}

/**
 * A plugin's configuration for a service or an instance, with its history, kept current: read
 * again when an instance applies or refuses a version (its event arrives live), on a reconnect,
 * and every few seconds (the applied versions ride beats).
 */
export function usePluginConfig(scope: ConfigScope): { loaded: LoadedConfig; reload: () => void } {
  const store = useLiveStore();
  const epoch = useLive((s) => s.epoch);
  const [loaded, setLoaded] = useState<LoadedConfig>({ state: 'loading' });
  const [reads, setReads] = useState(0);
  const key = JSON.stringify(scope);
  const service = loaded.state === 'loaded' ? loaded.config.service : null;

  useEffect(() => {
    const abort = new AbortController();
    load(JSON.parse(key) as ConfigScope, abort.signal).then(setLoaded, (e: unknown) => {
      if (abort.signal.aborted) return;
      // A failed refresh keeps what is shown; only a first load shows the error.
      setLoaded((current) =>
        current.state === 'loaded'
          ? current
          : { state: 'failed', message: e instanceof Error ? e.message : String(e), status: e instanceof ApiError ? e.status : null },
      );
    });
    return () => abort.abort();
  }, [key, epoch, reads]);

  useEffect(() => {
    const parsed = JSON.parse(key) as ConfigScope;
    const stop = store.onEvents((events) => {
      if (events.some((e) => concerns(e, parsed, service))) setReads((n) => n + 1);
    });
    const timer = setInterval(() => setReads((n) => n + 1), REFRESH_MS);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [store, key, service]);

  const reload = useCallback(() => setReads((n) => n + 1), []);
  return { loaded, reload };
}
