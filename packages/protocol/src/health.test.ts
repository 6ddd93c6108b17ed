import { describe, expect, it } from 'vitest';
import { LIMITS, METRIC_FIELDS } from './constants.js';
import { healthReportSchema, instanceMetricsSchema, metricsHistorySchema, metricsOf } from './health.js';
import { describeIssues, heartbeatSchema, parseHeartbeat } from './schemas.js';
import { deltaSchema, instanceWindowSchema } from './views.js';

const figures = [12.5, 104_857_600, 52_428_800, 4_345_298_944, 1.2, 3.4, 10.1, 0.12, 3.2, 3600, null];
const light = { v: 1, kind: 'light', instanceId: 'i-1', heartbeatTime: 1_790_000_010_000, lastHeartbeatTime: 1_790_000_005_000 };
const full = {
  ...light,
  kind: 'full',
  service: 'orders',
  appName: 'shop',
  artifact: 'orders',
  appType: 'default',
  hostName: 'web-1',
  ip: ['10.0.0.5'],
  processId: 42,
  dynamicInstall: false,
  version: '1.0.0',
  plugins: [],
};

function refusal(body: unknown): string[] {
  const result = heartbeatSchema.safeParse(body);
  if (result.success) throw new Error(`expected ${JSON.stringify(body)} to be refused`);
  return describeIssues(result.error);
}

describe('metrics and health in beats', () => {
  it('carries metrics in light and full beats, and health in full beats', () => {
    expect(parseHeartbeat({ ...light, metrics: figures })).toEqual({ success: true, data: { ...light, metrics: figures } });
    const health = { status: 'down', indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED' } }, disk: { status: 'up' } } };
    const parsed = heartbeatSchema.parse({ ...full, metrics: figures, health });
    expect(parsed).toMatchObject({ metrics: figures, health });
  });

  it('keeps beats without them valid (older agents)', () => {
    expect(heartbeatSchema.safeParse(light).success).toBe(true);
    expect(heartbeatSchema.safeParse(full).success).toBe(true);
  });

  it('accepts more figures than it knows (a newer agent) and refuses too few, negative or too many, naming metrics', () => {
    expect(heartbeatSchema.safeParse({ ...light, metrics: [...figures, 7] }).success).toBe(true);
    expect(refusal({ ...light, metrics: figures.slice(1) })[0]).toMatch(/^metrics: /);
    expect(refusal({ ...light, metrics: [-1, ...figures.slice(1)] })[0]).toMatch(/^metrics\.0: /);
    expect(refusal({ ...light, metrics: Array(LIMITS.metricsFields + 1).fill(1) })[0]).toMatch(/^metrics: /);
    expect(refusal({ ...light, metrics: figures.map(String) })[0]).toMatch(/^metrics\.0: /);
  });

  it("the light beat's fast path gives the schema's verdict and output with metrics", () => {
    const bodies: unknown[] = [
      { ...light, metrics: figures },
      { ...light, metrics: [...figures, 1] },
      { ...light, metrics: figures, extra: 1 },
      { ...light, metrics: figures.slice(2) },
      { ...light, metrics: [Infinity, ...figures.slice(1)] },
      { ...light, metrics: [-0.5, ...figures.slice(1)] },
      { ...light, metrics: 'busy' },
      { ...light, kind: 'goodbye', metrics: figures },
    ];
    for (const body of bodies) {
      const fast = parseHeartbeat(body);
      const slow = heartbeatSchema.safeParse(body);
      expect(fast.success, JSON.stringify(body)).toBe(slow.success);
      if (slow.success) expect(fast.data).toStrictEqual(slow.data);
      else expect(describeIssues(fast.error!)).toEqual(describeIssues(slow.error));
    }
  });

  it('refuses a health report over its limits or with an unknown status, naming the indicator', () => {
    const indicators = Object.fromEntries(Array.from({ length: LIMITS.healthIndicators + 1 }, (_, i) => [`i${i}`, { status: 'up' }]));
    expect(healthReportSchema.safeParse({ status: 'up', indicators }).success).toBe(false);
    const bad = healthReportSchema.safeParse({ status: 'up', indicators: { db: { status: 'sick' } } });
    expect(bad.success || describeIssues(bad.error)[0]).toMatch(/^indicators\.db\.status: /);
  });

  it('shows the wire figures as named metrics, in METRIC_FIELDS order', () => {
    const metrics = metricsOf(figures, 5);
    expect(Object.keys(metrics)).toEqual([...METRIC_FIELDS, 'sampledAt']);
    expect(Object.keys(instanceMetricsSchema.shape)).toEqual([...METRIC_FIELDS, 'sampledAt']);
    expect(metrics).toMatchObject({ cpu: 12.5, rss: 104_857_600, eventLoopDelayP99: 3.4, activeHandles: null, sampledAt: 5 });
  });
});

describe('metrics and health in the API and the views', () => {
  it('takes a history of samples oldest first with the resolution of its aggregates; a figure may be null', () => {
    const sample = {
      t: 120_000,
      cpu: 3,
      rss: 1,
      heapUsed: 1,
      heapLimit: 2,
      eventLoopDelayP50: 0.1,
      eventLoopDelayP99: 2,
      eventLoopDelayMax: 9,
      eventLoopUtilization: null,
    };
    const history = { instanceId: 'i-1', samples: [sample], resolutionMs: 120_000 };
    expect(metricsHistorySchema.parse(history)).toEqual(history);
    expect(metricsHistorySchema.safeParse({ ...history, samples: [{ ...sample, cpu: -1 }] }).success).toBe(false);
  });

  it('lets a window sort by a metric and filter by reported health, naming a bad value', () => {
    const window = { sort: 'eventLoopDelayP99', health: ['down', 'degraded'], offset: 0, limit: 50 };
    expect(instanceWindowSchema.parse(window)).toEqual(window);
    const bad = instanceWindowSchema.safeParse({ ...window, health: ['sick'] });
    expect(bad.success || describeIssues(bad.error)[0]).toMatch(/^health\.0: /);
  });

  it("carries a row's metrics in a delta, by instance id", () => {
    const delta = { upserts: [], removed: [], beats: { a: 10 }, metrics: { a: metricsOf(figures, 10) }, events: [], serverTime: 11 };
    expect(deltaSchema.parse(delta)).toEqual(delta);
    expect(deltaSchema.safeParse({ ...delta, metrics: { a: { cpu: 1 } } }).success).toBe(false);
  });
});
