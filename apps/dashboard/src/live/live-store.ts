import {
  deltaSchema,
  describeIssues,
  subscribeReplySchema,
  type Delta,
  type EventRecord,
  type FleetCounts,
  type Instance,
  type InstanceMetrics,
  type InstanceWindow,
  type PluginUsage,
  type ServiceSummary,
  type ViewRequest,
} from '@vigil/protocol';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** Rows `offset .. offset + ids.length` of the filtered, sorted instance list. */
export interface InstanceWindowState {
  readonly offset: number;
  /** Instances matching the filter, on every page: the height of the virtual table. */
  readonly total: number;
  readonly ids: readonly string[];
  readonly rows: ReadonlyMap<string, Instance>;
}

/** What components read: immutable, with unchanged parts kept (so selectors can compare by identity). */
export interface LiveState {
  readonly connection: ConnectionState;
  /** The view the page asked for. */
  readonly view: ViewRequest;
  /** True once a snapshot of the current view arrived, false while a new view's is on its way. */
  readonly viewSynced: boolean;
  /** Why the backend refused the view, if it did. */
  readonly viewError: string | null;
  /** Server clock minus this browser's clock, in ms: server times are compared with `Date.now() + offset`. */
  readonly clockOffsetMs: number;
  /** Null until the first snapshot, so "0 instances" is never claimed before we know. */
  readonly counts: FleetCounts | null;
  /** By service name, A-Z. */
  readonly services: readonly ServiceSummary[];
  /** By plugin, version, service. */
  readonly plugins: readonly PluginUsage[];
  /** The table window; kept while the next one of a scrolled view is on its way, so rows do not blink. */
  readonly window: InstanceWindowState | null;
  readonly watched: ReadonlyMap<string, Instance>;
  /**
   * Counts snapshots. Pages that also read the REST API (events, detail) reload when it changes
   * on a reconnect, so what happened while the socket was down is not missed.
   */
  readonly epoch: number;
}

export interface LiveStore {
  /** For `useSyncExternalStore`. */
  subscribe(listener: () => void): () => void;
  getState(): LiveState;
  /** Asks for a new view; a no-op when it equals the current one. */
  setView(view: ViewRequest): void;
  /** Called when the page asks for a new view (the connection subscribes to it). */
  onViewChange(listener: (view: ViewRequest) => void): () => void;
  /** Applies the answer to `subscribe(view)`; ignored when the page has asked for another view since. */
  applySubscribeReply(view: ViewRequest, message: unknown): boolean;
  /** Applies a delta; its view part is ignored while a new view's snapshot is on its way. */
  applyDelta(message: unknown): boolean;
  setConnection(state: ConnectionState): void;
  /** New events as they arrive, oldest first. */
  onEvents(listener: (events: readonly EventRecord[]) => void): () => void;
}

export interface LiveStoreOptions {
  /** This browser's clock; injectable so tests can pin the clock offset. */
  now?: () => number;
  /** Where invalid messages are reported. */
  warn?: (message: string) => void;
}

/** The view of a page with no table and nothing watched: it gets fleet-wide counts and events only. */
export const FLEET_VIEW: ViewRequest = { window: null, watch: [] };

const collator = new Intl.Collator('en', { numeric: true });

function usageKey(usage: PluginUsage): string {
  return JSON.stringify([usage.plugin, usage.version, usage.service]);
}

function mergeServices(current: readonly ServiceSummary[], changes: readonly ServiceSummary[]): ServiceSummary[] {
  const byName = new Map(current.map((s) => [s.service, s]));
  for (const change of changes) {
    if (change.instances === 0) byName.delete(change.service);
    else byName.set(change.service, change);
  }
  return [...byName.values()].sort((a, b) => collator.compare(a.service, b.service));
}

function mergePlugins(current: readonly PluginUsage[], changes: readonly PluginUsage[]): PluginUsage[] {
  const byKey = new Map(current.map((p) => [usageKey(p), p]));
  for (const change of changes) {
    if (change.instances === 0) byKey.delete(usageKey(change));
    else byKey.set(usageKey(change), change);
  }
  return [...byKey.values()].sort(
    (a, b) => collator.compare(a.plugin, b.plugin) || collator.compare(a.version, b.version) || collator.compare(a.service, b.service),
  );
}

function sameView(a: ViewRequest, b: ViewRequest): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Same list (filters and sort), whatever part of it the window covers. */
function sameFilters(a: InstanceWindow | null, b: InstanceWindow | null): boolean {
  if (a === null || b === null) return false;
  return JSON.stringify({ ...a, offset: 0, limit: 0 }) === JSON.stringify({ ...b, offset: 0, limit: 0 });
}

function withBeat(instance: Instance, time: number): Instance {
  // A beat never moves the time backwards (an upsert in the same delta may carry a later one).
  return time > instance.lastHeartbeatTime ? { ...instance, lastHeartbeatTime: time } : instance;
}

function withMetrics(instance: Instance, metrics: InstanceMetrics): Instance {
  // Like a beat, a sample never replaces a later one (an upsert in the same delta may carry it).
  return instance.metrics !== null && instance.metrics.sampledAt >= metrics.sampledAt ? instance : { ...instance, metrics };
}

/** A row with the beat time and metrics a delta has for it. */
function refreshed(instance: Instance, time: number | undefined, metrics: InstanceMetrics | undefined): Instance {
  const beaten = time === undefined ? instance : withBeat(instance, time);
  return metrics === undefined ? beaten : withMetrics(beaten, metrics);
}

/**
 * The dashboard's live state, fed by the socket (see `connection.ts`) and read by components.
 * Every message is validated at run time: a malformed one is reported and changes nothing.
 */
export function createLiveStore(options: LiveStoreOptions = {}): LiveStore {
  const now = options.now ?? Date.now;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const listeners = new Set<() => void>();
  const viewListeners = new Set<(view: ViewRequest) => void>();
  const eventListeners = new Set<(events: readonly EventRecord[]) => void>();

  let state: LiveState = {
    connection: 'connecting',
    view: FLEET_VIEW,
    viewSynced: false,
    viewError: null,
    clockOffsetMs: 0,
    counts: null,
    services: [],
    plugins: [],
    window: null,
    watched: new Map(),
    epoch: 0,
  };

  function publish(next: LiveState): void {
    state = next;
    for (const listener of listeners) listener();
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    getState: () => state,

    setView(view) {
      if (sameView(view, state.view)) return;
      // A scrolled table keeps its rows until the new window arrives; other views start empty.
      const keepWindow = state.window !== null && sameFilters(state.view.window, view.window);
      publish({
        ...state,
        view,
        viewSynced: false,
        viewError: null,
        window: keepWindow ? state.window : null,
        watched: new Map(),
      });
      for (const listener of viewListeners) listener(view);
    },

    onViewChange(listener) {
      viewListeners.add(listener);
      return () => {
        viewListeners.delete(listener);
      };
    },

    applySubscribeReply(view, message) {
      if (!sameView(view, state.view)) return false;
      const parsed = subscribeReplySchema.safeParse(message);
      if (!parsed.success) {
        warn(`vigil: ignored an invalid snapshot: ${describeIssues(parsed.error).join('; ')}`);
        return false;
      }
      const reply = parsed.data;
      if (!reply.ok) {
        warn(`vigil: the backend refused the view: ${reply.issues.join('; ')}`);
        publish({ ...state, viewSynced: true, viewError: reply.issues.join('; ') || reply.error });
        return false;
      }
      const { snapshot } = reply;
      publish({
        ...state,
        viewSynced: true,
        viewError: null,
        clockOffsetMs: snapshot.serverTime - now(),
        counts: snapshot.counts,
        services: mergeServices([], snapshot.services),
        plugins: mergePlugins([], snapshot.plugins),
        window: snapshot.window && {
          offset: snapshot.window.offset,
          total: snapshot.window.total,
          ids: snapshot.window.instances.map((i) => i.instanceId),
          rows: new Map(snapshot.window.instances.map((i) => [i.instanceId, i])),
        },
        watched: new Map(snapshot.watched.map((i) => [i.instanceId, i])),
        epoch: state.epoch + 1,
      });
      return true;
    },

    applyDelta(message) {
      const parsed = deltaSchema.safeParse(message);
      if (!parsed.success) {
        warn(`vigil: ignored an invalid delta: ${describeIssues(parsed.error).join('; ')}`);
        return false;
      }
      const delta = parsed.data;
      let next: LiveState = {
        ...state,
        clockOffsetMs: delta.serverTime - now(),
        ...(delta.counts && { counts: delta.counts }),
        ...(delta.services && { services: mergeServices(state.services, delta.services) }),
        ...(delta.plugins && { plugins: mergePlugins(state.plugins, delta.plugins) }),
      };
      // Until the snapshot of a new view arrives, view changes belong to the previous view.
      if (state.viewSynced) next = applyViewChanges(next, delta);
      publish(next);
      if (delta.events.length > 0) for (const listener of eventListeners) listener(delta.events);
      return true;
    },

    setConnection(connection) {
      if (connection === state.connection) return;
      publish({ ...state, connection });
    },

    onEvents(listener) {
      eventListeners.add(listener);
      return () => {
        eventListeners.delete(listener);
      };
    },
  };
}

/** Applies the part of a delta that belongs to the view: window membership, rows, watched instances. */
function applyViewChanges(
  current: LiveState,
  { window: membership, upserts, removed, beats, metrics = {} }: Pick<Delta, 'window' | 'upserts' | 'removed' | 'beats' | 'metrics'>,
): LiveState {
  let next = current;
  // Rows whose beat or metrics changed, and nothing else.
  const touched = new Set([...Object.keys(beats), ...Object.keys(metrics)]);
  const refresh = (instance: Instance) => refreshed(instance, beats[instance.instanceId], metrics[instance.instanceId]);
  if (next.window && (membership || upserts.length > 0 || touched.size > 0)) {
    const ids = membership?.ids ?? next.window.ids;
    const listed = new Set(ids);
    const rows = new Map<string, Instance>();
    // Rows not listed any more leave the window; upserted rows replace what we had.
    for (const id of ids) {
      const row = next.window.rows.get(id);
      if (row) rows.set(id, row);
    }
    for (const instance of upserts) if (listed.has(instance.instanceId)) rows.set(instance.instanceId, instance);
    for (const id of touched) {
      const row = rows.get(id);
      if (row) rows.set(id, refresh(row));
    }
    next = { ...next, window: { ...next.window, total: membership?.total ?? next.window.total, ids, rows } };
  }
  const watchedIds = new Set(next.view.watch);
  if (watchedIds.size > 0 && (upserts.length > 0 || removed.length > 0 || touched.size > 0)) {
    const watched = new Map(next.watched);
    for (const instance of upserts) if (watchedIds.has(instance.instanceId)) watched.set(instance.instanceId, instance);
    for (const id of removed) watched.delete(id);
    for (const id of touched) {
      const instance = watched.get(id);
      if (instance) watched.set(id, refresh(instance));
    }
    next = { ...next, watched };
  }
  return next;
}
