import type { Delta, Instance, InstanceMetrics, ViewRequest, ViewSnapshot } from '@vigil/protocol';
import { isMetricSort, queryInstances, type InstanceQuery } from '../instances/instance-query.js';
import type { ChangeBatch } from './delta-batcher.js';

/** Where views read instances from (the registry). */
export interface InstanceSource {
  list(): Instance[];
  get(instanceId: string): Instance | undefined;
}

export interface ViewGroupsOptions {
  /** Least time between two re-queries of one window. */
  refreshMinMs: number;
  /** A monotonic clock in ms, to measure what a re-query costs. */
  measure: () => number;
}

/** Share of the time between two re-queries of a window one re-query may take. */
const REFRESH_BUDGET = 0.1;

/**
 * Dashboards showing the same view (the same window of the same filtered, sorted list, and the
 * same watched ids). Each group is a socket.io room: its deltas are built and encoded once for
 * all its members.
 */
export interface ViewGroup {
  /** The view, canonical (sorted statuses and ids), as a string. */
  readonly key: string;
  readonly room: string;
  readonly query: InstanceQuery | null;
  readonly watch: ReadonlySet<string>;
  members: number;
  /** The window's rows as its members hold them, by id. */
  rows: Map<string, Instance>;
  /** The window's ids in order. */
  ids: string[];
  /** Instances matching the filter, on every page. */
  total: number;
  /** Membership or order may have changed: the window must be queried again. */
  dirty: boolean;
  /** Not before this time (backend clock), so a busy fleet cannot make a window re-query constantly. */
  nextRefreshAt: number;
}

/** The part of a delta that depends on the view. */
export type ViewDelta = Pick<Delta, 'window' | 'upserts' | 'removed' | 'beats' | 'metrics'>;

/**
 * Sorted by last heartbeat or by a metric, every renewal of a listed instance may move it, and
 * the registry writes those into the objects the rows already are, so comparing tells nothing.
 */
const movesWithBeats = (query: InstanceQuery | null): boolean =>
  query !== null && (query.sort === 'lastHeartbeatTime' || isMetricSort(query.sort));

/** Does the instance pass the view's filters? The REST query decides, so both always agree. */
function matches(query: InstanceQuery, instance: Instance): boolean {
  return queryInstances([instance], query).total === 1;
}

/** True when a changed row keeps its place: the sort key and the tie-breakers are unchanged. */
function samePlace(query: InstanceQuery, row: Instance, next: Instance): boolean {
  const { sort } = query;
  return !isMetricSort(sort) && row[sort] === next[sort] && row.service === next.service && row.hostName === next.hostName;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * Keeps every dashboard's view current without sending it the fleet. A view is a window of
 * `GET /api/v1/instances` (filters, sort, offset/limit) plus watched ids. A change to a row the
 * window holds goes out at once as an upsert; anything that may change which rows the window
 * holds or their order (an instance entering or leaving the filter, a sort key moving, a
 * removal) also marks the window dirty, and it is queried again at most once per `refreshMinMs`, or less often
 * when a query is slow (a large fleet), so a query never takes more than a tenth of the time.
 */
export class ViewGroups {
  private readonly groups = new Map<string, ViewGroup>();
  private nextGroup = 1;

  constructor(
    private readonly source: InstanceSource,
    private readonly options: ViewGroupsOptions,
  ) {}

  get size(): number {
    return this.groups.size;
  }

  /**
   * True when some view needs to hear of a plain beat of this instance: one that watches it or
   * lists it, or one sorted by last heartbeat or a metric (every renewal may move its rows). Beats
   * nobody shows are not batched at all: with no dashboard open, a beat costs the realtime side nothing.
   */
  wantsBeat(instanceId: string): boolean {
    for (const group of this.groups.values()) {
      if (movesWithBeats(group.query) || group.watch.has(instanceId) || group.rows.has(instanceId)) return true;
    }
    return false;
  }

  /**
   * Joins the group of a view, creating it (and querying its window) when it is new. Returns the
   * group (null for a view with no window and nothing watched: it gets only fleet-wide changes)
   * and the state a new member starts from.
   */
  join(view: ViewRequest, now: number): { group: ViewGroup | null } & Pick<ViewSnapshot, 'window' | 'watched'> {
    const watch = [...new Set(view.watch)].sort();
    if (view.window === null && watch.length === 0) return { group: null, window: null, watched: [] };
    // The socket's window and the REST query are one type: a sort key only one side knows does not compile.
    const query: InstanceQuery | null = view.window && {
      ...view.window,
      status: view.window.status && [...view.window.status].sort(),
      health: view.window.health && [...view.window.health].sort(),
    };
    const key = JSON.stringify([
      query && [
        query.service,
        query.app,
        query.status,
        query.health,
        query.plugin,
        query.q,
        query.sort,
        query.order,
        query.offset,
        query.limit,
      ],
      watch,
    ]);
    let group = this.groups.get(key);
    if (!group) {
      group = {
        key,
        room: `view:${this.nextGroup++}`,
        query,
        watch: new Set(watch),
        members: 0,
        rows: new Map(),
        ids: [],
        total: 0,
        dirty: query !== null,
        nextRefreshAt: now,
      };
      this.groups.set(key, group);
      this.refreshIfDue(group, now, new Map());
    }
    group.members++;
    const rows = group.rows;
    return {
      group,
      window: query && { offset: query.offset, total: group.total, instances: group.ids.map((id) => rows.get(id)!) },
      watched: watch.flatMap((id) => this.source.get(id) ?? []),
    };
  }

  /** A member left; the group goes with its last member. */
  leave(group: ViewGroup): void {
    group.members--;
    if (group.members === 0) this.groups.delete(group.key);
  }

  /** Applies a batch to every group and re-queries the dirty windows that are due. */
  flush(batch: ChangeBatch | null, now: number): Map<ViewGroup, ViewDelta> {
    const deltas = new Map<ViewGroup, ViewDelta>();
    for (const group of this.groups.values()) {
      const upserts = new Map<string, Instance>();
      const removed: string[] = [];
      const beats = new Map<string, number>();
      const metrics = new Map<string, InstanceMetrics>();
      if (batch) this.apply(group, batch, upserts, removed, beats, metrics);
      const window = this.refreshIfDue(group, now, upserts);
      // A row sent whole carries its metrics.
      for (const id of upserts.keys()) metrics.delete(id);
      if (window || upserts.size > 0 || removed.length > 0 || beats.size > 0) {
        deltas.set(group, {
          ...(window && { window }),
          upserts: [...upserts.values()],
          removed,
          beats: Object.fromEntries(beats),
          ...(metrics.size > 0 && { metrics: Object.fromEntries(metrics) }),
        });
      }
    }
    return deltas;
  }

  private apply(
    group: ViewGroup,
    batch: ChangeBatch,
    upserts: Map<string, Instance>,
    removed: string[],
    beats: Map<string, number>,
    metrics: Map<string, InstanceMetrics>,
  ): void {
    const { query } = group;
    for (const [id, { before, after }] of batch.changes) {
      if (group.watch.has(id)) {
        if (after) upserts.set(id, after);
        else removed.push(id);
      }
      if (!query) continue;
      const row = group.rows.get(id);
      const matchesNow = after !== undefined && matches(query, after);
      // An instance that leaves the filter shrinks the list even when it was not on screen.
      const matchedBefore = row !== undefined || (before !== undefined && matches(query, before));
      if (!matchesNow && !matchedBefore) continue;
      // A row on screen shows its new state at once, in its old place until the window is re-queried.
      if (row && after) {
        group.rows.set(id, after);
        upserts.set(id, after);
      }
      // Sorted by last heartbeat or a metric, a change that came with a renewal may move the row
      // even where `samePlace` cannot tell: a renewal writes into the record the row already is.
      if (!row || !after || !matchesNow || movesWithBeats(query) || !samePlace(query, row, after)) group.dirty = true;
    }
    const byBeat = movesWithBeats(query);
    for (const [id, time] of batch.beats) {
      if (group.watch.has(id) || group.rows.has(id)) {
        beats.set(id, time);
        const figures = batch.metrics.get(id);
        if (figures !== undefined) metrics.set(id, figures);
      }
      // Sorted by last heartbeat or a metric, every renewal of a listed instance may move it.
      if (byBeat && query && !group.dirty) {
        const instance = this.source.get(id);
        if (instance && matches(query, instance)) group.dirty = true;
      }
    }
  }

  /** Re-queries a dirty window when due; returns its new ids and total when either changed. */
  private refreshIfDue(group: ViewGroup, now: number, upserts: Map<string, Instance>): ViewDelta['window'] {
    const { query } = group;
    if (!query || !group.dirty || now < group.nextRefreshAt) return undefined;
    const started = this.options.measure();
    const { instances, total } = queryInstances(this.source.list(), query);
    const rows = new Map<string, Instance>();
    for (const instance of instances) {
      rows.set(instance.instanceId, instance);
      // The registry replaces a record on every visible change, so identity says "changed".
      if (group.rows.get(instance.instanceId) !== instance) upserts.set(instance.instanceId, instance);
    }
    // A row updated earlier in this flush that has now left the window is not needed any more.
    for (const id of upserts.keys()) {
      if (!rows.has(id) && !group.watch.has(id)) upserts.delete(id);
    }
    const ids = instances.map((instance) => instance.instanceId);
    const changed = total !== group.total || !sameIds(ids, group.ids);
    group.rows = rows;
    group.ids = ids;
    group.total = total;
    group.dirty = false;
    const cost = this.options.measure() - started;
    group.nextRefreshAt = now + Math.max(this.options.refreshMinMs, cost / REFRESH_BUDGET);
    return changed ? { total, ids } : undefined;
  }
}
