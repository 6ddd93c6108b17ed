import {
  metricsOf,
  type Delta,
  type EventRecord,
  type FleetCounts,
  type Instance,
  type ViewRequest,
  type ViewSnapshot,
} from '@vigil/protocol';
import { describe, expect, it, vi } from 'vitest';
import { createLiveStore, FLEET_VIEW } from './live-store';

const NOW = 1_700_000_000_000;

function instance(instanceId: string, overrides: Partial<Instance> = {}): Instance {
  return {
    instanceId,
    source: 'agent',
    metadata: {},
    ephemeral: true,
    service: 'orders',
    appName: 'shop',
    artifact: 'orders-service',
    appType: 'node',
    hostName: 'host-1',
    ip: ['10.0.0.1'],
    processId: 4242,
    dynamicInstall: false,
    version: '1.0.0',
    plugins: [{ name: 'http', version: '1.2.0', extInfo: { port: '3000' } }],
    status: 'healthy',
    registeredAt: NOW - 60_000,
    lastHeartbeatTime: NOW - 1_000,
    statusSince: NOW - 60_000,
    metrics: null,
    health: null,
    ...overrides,
  };
}

const counts = (healthy: number, lost = 0): FleetCounts => ({
  apps: 1,
  services: 1,
  instances: healthy + lost,
  byStatus: { healthy, suspect: 0, lost, offline: 0, unhealthy: 0 },
});

function snapshot(overrides: Partial<ViewSnapshot> = {}): { ok: true; snapshot: ViewSnapshot } {
  return {
    ok: true,
    snapshot: { window: null, watched: [], counts: counts(0), services: [], plugins: [], serverTime: NOW, ...overrides },
  };
}

function delta(changes: Partial<Delta> = {}): Delta {
  return { upserts: [], removed: [], beats: {}, events: [], serverTime: NOW, ...changes };
}

const tableView = (offset = 0, service?: string): ViewRequest => ({
  window: { ...(service && { service }), sort: 'service', offset, limit: 3 },
  watch: [],
});

function setup() {
  const warn = vi.fn<(message: string) => void>();
  const store = createLiveStore({ now: () => NOW, warn });
  const rowIds = () => store.getState().window?.ids.filter((id) => store.getState().window?.rows.has(id));
  return { store, warn, rowIds };
}

/** A store showing rows a, b, c of 5 on the first page. */
function withTable() {
  const s = setup();
  s.store.setView(tableView());
  s.store.applySubscribeReply(
    tableView(),
    snapshot({ window: { offset: 0, total: 5, instances: [instance('a'), instance('b'), instance('c')] }, counts: counts(5) }),
  );
  return s;
}

describe('live store', () => {
  it('knows nothing before the first snapshot', () => {
    const { store } = setup();
    expect(store.getState()).toMatchObject({ connection: 'connecting', counts: null, window: null, viewSynced: false, epoch: 0 });
    expect(store.getState().view).toEqual(FLEET_VIEW);
  });

  it('tells the connection when the page asks for another view, once per distinct view', () => {
    const { store } = setup();
    const asked = vi.fn();
    store.onViewChange(asked);
    store.setView(tableView());
    store.setView(tableView());
    expect(asked).toHaveBeenCalledOnce();
    expect(store.getState().viewSynced).toBe(false);
  });

  it('starts the view from its snapshot: rows, counts, services and plugins, and the clock offset', () => {
    const { store, rowIds } = withTable();
    expect(rowIds()).toEqual(['a', 'b', 'c']);
    expect(store.getState()).toMatchObject({ viewSynced: true, counts: counts(5), epoch: 1 });
    expect(store.getState().window).toMatchObject({ offset: 0, total: 5 });

    store.applySubscribeReply(tableView(), snapshot({ serverTime: NOW + 2_500 }));
    expect(store.getState().clockOffsetMs).toBe(2_500);
    expect(store.getState().epoch).toBe(2);
  });

  it('ignores the answer to a view the page has left', () => {
    const { store } = withTable();
    store.setView(tableView(0, 'payments'));
    expect(store.applySubscribeReply(tableView(), snapshot())).toBe(false);
    expect(store.getState().viewSynced).toBe(false);
  });

  it('keeps the rows of a scrolled table until the next window arrives, but not those of another filter', () => {
    const { store } = withTable();
    const rows = store.getState().window;
    store.setView(tableView(50));
    expect(store.getState().window).toBe(rows);
    store.setView(tableView(0, 'payments'));
    expect(store.getState().window).toBeNull();
  });

  it('shows why the backend refused a view', () => {
    const { store, warn } = setup();
    store.setView(tableView());
    store.applySubscribeReply(tableView(), { ok: false, error: 'invalid view', issues: ['window.limit: too big'] });
    expect(store.getState()).toMatchObject({ viewSynced: true, viewError: 'window.limit: too big' });
    expect(warn).toHaveBeenCalledOnce();
  });

  it('changes a row in place from an upsert, and only its time from a beat', () => {
    const { store } = withTable();
    const before = store.getState().window!;
    store.applyDelta(delta({ upserts: [instance('b', { status: 'lost' })], beats: { c: NOW + 5_000, a: NOW - 9_000 } }));
    const after = store.getState().window!;
    expect(after.ids).toEqual(['a', 'b', 'c']);
    expect(after.rows.get('b')?.status).toBe('lost');
    expect(after.rows.get('c')).toEqual({ ...before.rows.get('c'), lastHeartbeatTime: NOW + 5_000 });
    // A beat never moves the time backwards, and what was handed out is never mutated.
    expect(after.rows.get('a')).toBe(before.rows.get('a'));
    expect(before.rows.get('c')?.lastHeartbeatTime).toBe(NOW - 1_000);
  });

  it('changes only the metrics of rows whose metrics alone changed, never to an older sample', () => {
    const { store } = withTable();
    const before = store.getState().window!;
    const busy = metricsOf([95, 200e6, 50e6, 2e9, 1, 480, 900, 0.9, 3, 60, 12], NOW + 1_000);
    store.applyDelta(delta({ metrics: { b: busy }, beats: { b: NOW + 1_000 } }));
    const after = store.getState().window!;
    expect(after.rows.get('b')).toEqual({ ...before.rows.get('b'), lastHeartbeatTime: NOW + 1_000, metrics: busy });
    expect(after.rows.get('a')).toBe(before.rows.get('a'));

    const stale = metricsOf([5, 100e6, 20e6, 2e9, 1, 2, 3, 0.1, 0, 59, 12], NOW);
    store.applyDelta(delta({ metrics: { b: stale } }));
    expect(store.getState().window!.rows.get('b')?.metrics?.cpu).toBe(95);
  });

  it('keeps a watched instance’s metrics live', () => {
    const { store } = setup();
    const view: ViewRequest = { window: null, watch: ['a'] };
    store.setView(view);
    store.applySubscribeReply(view, snapshot({ watched: [instance('a')] }));
    const sample = metricsOf([12, 90e6, 30e6, 2e9, 1, 5, 9, 0.2, 1, 30, 8], NOW + 500);
    store.applyDelta(delta({ metrics: { a: sample, elsewhere: sample } }));
    expect(store.getState().watched.get('a')?.metrics).toEqual(sample);
    expect(store.getState().watched.has('elsewhere')).toBe(false);
  });

  it('takes the window membership and total from the delta, dropping rows that left', () => {
    const { store, rowIds } = withTable();
    store.applyDelta(delta({ window: { total: 4, ids: ['a', 'x', 'c'] }, upserts: [instance('x')] }));
    expect(rowIds()).toEqual(['a', 'x', 'c']);
    expect(store.getState().window?.rows.has('b')).toBe(false);
    expect(store.getState().window?.total).toBe(4);
  });

  it('applies fleet-wide changes while a new view is on its way, but not the old view’s rows', () => {
    const { store } = withTable();
    store.setView(tableView(50));
    store.applyDelta(delta({ upserts: [instance('a', { status: 'lost' })], counts: counts(4, 1) }));
    expect(store.getState().counts).toEqual(counts(4, 1));
    expect(store.getState().window?.rows.get('a')?.status).toBe('healthy');
  });

  it('merges service and plugin changes, dropping entries at zero instances', () => {
    const { store } = setup();
    const orders = { service: 'orders', instances: 2, byStatus: counts(2).byStatus };
    store.applySubscribeReply(
      FLEET_VIEW,
      snapshot({
        services: [orders, { ...orders, service: 'mailer' }],
        plugins: [{ plugin: 'http', version: '1.2.0', service: 'orders', instances: 2 }],
      }),
    );
    store.applyDelta(
      delta({
        services: [
          { ...orders, service: 'mailer', instances: 0 },
          { ...orders, service: 'billing' },
        ],
        plugins: [
          { plugin: 'http', version: '1.2.0', service: 'orders', instances: 0 },
          { plugin: 'http', version: '1.3.0', service: 'orders', instances: 2 },
        ],
      }),
    );
    expect(store.getState().services.map((s) => s.service)).toEqual(['billing', 'orders']);
    expect(store.getState().plugins).toEqual([{ plugin: 'http', version: '1.3.0', service: 'orders', instances: 2 }]);
  });

  it('follows watched instances until they are removed', () => {
    const { store } = setup();
    const view: ViewRequest = { window: null, watch: ['a'] };
    store.setView(view);
    store.applySubscribeReply(view, snapshot({ watched: [instance('a')] }));
    store.applyDelta(delta({ beats: { a: NOW + 1 } }));
    expect(store.getState().watched.get('a')?.lastHeartbeatTime).toBe(NOW + 1);
    store.applyDelta(delta({ upserts: [instance('a', { status: 'offline' })] }));
    expect(store.getState().watched.get('a')?.status).toBe('offline');
    store.applyDelta(delta({ removed: ['a'] }));
    expect(store.getState().watched.has('a')).toBe(false);
  });

  it('hands new events to listeners', () => {
    const { store } = setup();
    const listener = vi.fn();
    store.onEvents(listener);
    const event: EventRecord = {
      id: '7',
      time: NOW,
      level: 'important',
      type: 'instance.lost',
      origin: 'backend',
      message: '',
      attributes: {},
    };
    store.applyDelta(delta({ events: [event] }));
    store.applyDelta(delta());
    expect(listener).toHaveBeenCalledOnce();
    expect(listener).toHaveBeenCalledWith([event]);
  });

  it('ignores and reports invalid messages', () => {
    const { store, warn } = withTable();
    const before = store.getState();
    expect(store.applyDelta({ ...delta(), beats: { a: 'soon' } })).toBe(false);
    expect(store.applyDelta(null)).toBe(false);
    expect(store.applySubscribeReply(tableView(), { ok: true, snapshot: { window: null } })).toBe(false);
    expect(store.getState()).toBe(before);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn.mock.calls[0]?.[0]).toMatch(/invalid delta.*beats\.a/);
  });

  it('notifies subscribers on change, and tracks the connection without touching the data', () => {
    const { store } = withTable();
    const listener = vi.fn();
    store.subscribe(listener);
    const window = store.getState().window;
    store.setConnection('connected');
    store.setConnection('connected');
    store.setConnection('disconnected');
    expect(listener).toHaveBeenCalledTimes(2);
    expect(store.getState()).toMatchObject({ connection: 'disconnected', viewSynced: true });
    expect(store.getState().window).toBe(window);
  });
});
