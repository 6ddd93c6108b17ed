import type { Delta, FullBeat, Instance, PluginUsage, ServiceSummary, ViewRequest, ViewSnapshot } from '@vigil/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countInstances, queryInstances } from '../instances/instance-query.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { DeltaBatcher } from './delta-batcher.js';
import { FleetSummary } from './fleet-summary.js';
import { ViewGroups } from './view-groups.js';

/**
 * The realtime pieces wired as the gateway wires them, driven by random beats, goodbyes and
 * time, with simulated dashboards that apply snapshots and deltas as the real one does. The
 * oracle is the REST query: what a dashboard holds must be what `GET /api/v1/instances` says.
 */

const TICK = 20;
const REFRESH_MS = 1_000;

type Op =
  | { kind: 'full'; id: number; service: string; host: string; plugin: string | null }
  | { kind: 'light' | 'goodbye'; id: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'flush' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('full' as const),
    id: fc.nat(7),
    service: fc.constantFrom('orders', 'payments', 'mailer'),
    host: fc.constantFrom('host-1', 'host-2', 'host-3'),
    plugin: fc.constantFrom('1.0.0', '2.0.0', null),
  }),
  fc.record({ kind: fc.constantFrom('light' as const, 'goodbye' as const), id: fc.nat(7) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2_500 }) }),
  fc.constant({ kind: 'flush' as const }),
);

const VIEWS: ViewRequest[] = [
  { window: { sort: 'service', offset: 0, limit: 3 }, watch: [] },
  { window: { status: ['healthy'], sort: 'hostName', offset: 1, limit: 2 }, watch: [] },
  { window: { service: 'orders', sort: 'lastHeartbeatTime', offset: 0, limit: 5 }, watch: [] },
  { window: { plugin: 'template', sort: 'status', order: 'desc', offset: 0, limit: 10 }, watch: ['i-0'] },
  { window: null, watch: ['i-1', 'i-2'] },
];

function fullBeat(op: Extract<Op, { kind: 'full' }>): FullBeat {
  return {
    v: 1,
    kind: 'full',
    instanceId: `i-${op.id}`,
    heartbeatTime: 0,
    lastHeartbeatTime: null,
    service: op.service,
    appName: op.service === 'mailer' ? 'backoffice' : 'shop',
    artifact: op.service,
    appType: 'default',
    hostName: op.host,
    ip: ['10.0.0.5'],
    processId: 100 + op.id,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: op.plugin ? [{ name: 'template', version: op.plugin, extInfo: {} }] : [],
  };
}

/** A dashboard as the real one keeps its state: rows of its window, watched instances, aggregates. */
class SimulatedDashboard {
  ids: string[] = [];
  total = 0;
  rows = new Map<string, Instance>();
  watched = new Map<string, Instance>();
  counts: ViewSnapshot['counts'];
  services = new Map<string, ServiceSummary>();
  plugins = new Map<string, PluginUsage>();

  constructor(snapshot: Pick<ViewSnapshot, 'window' | 'watched' | 'counts' | 'services' | 'plugins'>) {
    const copy = structuredClone(snapshot);
    this.ids = copy.window?.instances.map((i) => i.instanceId) ?? [];
    this.total = copy.window?.total ?? 0;
    for (const instance of copy.window?.instances ?? []) this.rows.set(instance.instanceId, instance);
    for (const instance of copy.watched) this.watched.set(instance.instanceId, instance);
    this.counts = copy.counts;
    this.applyAggregates(copy);
  }

  apply(message: Delta, watch: readonly string[]): void {
    const delta = structuredClone(message);
    for (const instance of delta.upserts) {
      if (watch.includes(instance.instanceId)) this.watched.set(instance.instanceId, instance);
      this.rows.set(instance.instanceId, instance);
    }
    if (delta.window) {
      this.ids = delta.window.ids;
      this.total = delta.window.total;
    }
    for (const id of this.rows.keys()) if (!this.ids.includes(id)) this.rows.delete(id);
    for (const id of delta.removed) this.watched.delete(id);
    for (const [id, time] of Object.entries(delta.beats)) {
      const row = this.rows.get(id);
      if (row) row.lastHeartbeatTime = time;
      const watched = this.watched.get(id);
      if (watched) watched.lastHeartbeatTime = time;
    }
    if (delta.counts) this.counts = delta.counts;
    this.applyAggregates(delta);
  }

  private applyAggregates({ services, plugins }: Pick<Delta, 'services' | 'plugins'>): void {
    for (const s of services ?? []) {
      if (s.instances === 0) this.services.delete(s.service);
      else this.services.set(s.service, s);
    }
    for (const p of plugins ?? []) {
      const key = `${p.plugin} ${p.version} ${p.service}`;
      if (p.instances === 0) this.plugins.delete(key);
      else this.plugins.set(key, p);
    }
  }
}

function expectedServices(all: Instance[]): Map<string, ServiceSummary> {
  const services = new Map<string, ServiceSummary>();
  for (const i of all) {
    const s = services.get(i.service) ?? {
      service: i.service,
      instances: 0,
      byStatus: { healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0 },
    };
    s.instances++;
    s.byStatus[i.status]++;
    services.set(i.service, s);
  }
  return services;
}

function expectedPlugins(all: Instance[]): Map<string, PluginUsage> {
  const plugins = new Map<string, PluginUsage>();
  for (const i of all) {
    for (const p of i.plugins) {
      const key = `${p.name} ${p.version} ${i.service}`;
      const usage = plugins.get(key) ?? { plugin: p.name, version: p.version, service: i.service, instances: 0 };
      usage.instances++;
      plugins.set(key, usage);
    }
  }
  return plugins;
}

function run(ops: Op[]): void {
  let clock = 0;
  const registry = new InstanceRegistry(
    {
      timings: { intervalMs: null, lostAfterMs: 1_000, removeAfterMs: 2_500 },
      suspectAfterIntervals: 2,
      tickMs: TICK,
      stallThresholdMs: 1_000,
      selfPreservation: { minInstances: 10, ratio: 0.5 },
      historySize: 8,
    },
    0,
  );
  const batcher = new DeltaBatcher(registry.list());
  const summary = new FleetSummary(registry.list());
  const views = new ViewGroups(registry, { refreshMinMs: REFRESH_MS, measure: () => 0 });
  registry.onChange((change) => {
    const step = batcher.add(change);
    if (step) summary.apply(step.before, step.after);
  });

  const snapshotOf = (joined: ReturnType<ViewGroups['join']>) => ({
    window: joined.window,
    watched: joined.watched,
    counts: summary.counts(),
    services: summary.serviceSummaries(),
    plugins: summary.pluginUsage(),
  });
  const dashboards = VIEWS.map((view) => {
    const joined = views.join(view, clock);
    return { view, group: joined.group, ui: new SimulatedDashboard(snapshotOf(joined)) };
  });

  const flush = (now: number) => {
    const batch = batcher.take();
    const shared = { ...summary.takeChanges(), events: [], serverTime: now };
    const deltas = views.flush(batch, now);
    for (const d of dashboards) {
      const viewDelta = d.group && deltas.get(d.group);
      d.ui.apply({ upserts: [], removed: [], beats: {}, ...viewDelta, ...shared }, d.view.watch);
    }
  };

  const check = (settled: boolean) => {
    const all = registry.list();
    for (const { view, ui } of dashboards) {
      expect(ui.counts).toEqual(countInstances(all));
      expect(ui.services).toEqual(expectedServices(all));
      expect(ui.plugins).toEqual(expectedPlugins(all));
      // Rows on screen are never stale, even while the window waits to be re-queried.
      for (const [id, row] of ui.rows) {
        const current = registry.get(id);
        if (current) expect(row).toEqual(current);
      }
      for (const id of view.watch) expect(ui.watched.get(id)).toEqual(registry.get(id));
      if (settled && view.window) {
        const expected = queryInstances(all, view.window);
        expect(ui.ids).toEqual(expected.instances.map((i) => i.instanceId));
        expect(ui.total).toBe(expected.total);
      }
    }
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'full':
        registry.applyBeat(fullBeat(op), clock);
        break;
      case 'light':
      case 'goodbye':
        registry.applyBeat({ v: 1, kind: op.kind, instanceId: `i-${op.id}`, heartbeatTime: 0, lastHeartbeatTime: 0 }, clock);
        break;
      case 'advance': {
        const end = clock + op.ms;
        while (clock < end) {
          clock = Math.min(clock + TICK, end);
          registry.tick(clock);
        }
        break;
      }
      case 'flush':
        flush(clock);
        check(false);
    }
  }
  // Once the throttle has let every dirty window be re-queried, every window is exactly the REST answer.
  flush(clock);
  flush(clock + REFRESH_MS);
  check(true);

  // A dashboard joining now starts from the same state as those that followed every delta.
  for (const { view, ui } of dashboards) {
    const joined = views.join(view, clock + REFRESH_MS);
    expect(joined.window?.instances.map((i) => i.instanceId) ?? []).toEqual(ui.ids);
    if (joined.group) views.leave(joined.group);
  }
  for (const { group } of dashboards) if (group) views.leave(group);
  expect(views.size).toBe(0);
}

describe('dashboards following deltas', () => {
  it('hold exactly what the REST API answers: windows, watched instances, counts, services and plugins', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => run(ops)),
      { numRuns: 300 },
    );
  });

  // Found by the property above: i-2 goes lost, then renews to the time of i-0, so the two tie on
  // the sort key and their order falls to the host name; the status change carried the renewal.
  it('re-sort a window sorted by last heartbeat when a status change comes with a renewal', () => {
    run([
      { kind: 'full', id: 2, service: 'orders', host: 'host-1', plugin: '1.0.0' },
      { kind: 'advance', ms: 1000 },
      { kind: 'full', id: 0, service: 'orders', host: 'host-3', plugin: '1.0.0' },
      { kind: 'flush' },
      { kind: 'light', id: 2 },
    ]);
  });
});
