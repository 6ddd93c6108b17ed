/**
 * Health and runtime metrics in beats, as the agent sends them by default: over the beat socket,
 * from the real health service and the real sampler, to the backend stand-in.
 */
import { METRIC_FIELDS } from '../protocol';
import type { FullBeat, Heartbeat, HealthReport } from '../protocol';
import { metricsOf, parseHeartbeat } from '@vigil/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendLink } from '../backend/backend-link';
import { BeatSocketLink } from '../backend/beat-socket';
import { logger } from '../logger';
import { RuntimeMetrics } from '../metrics/runtime-metrics';
import { AgentHealthService } from '../services/agent-health-service';
import type { IndicatorResult } from '../services/health-service';
import { backendStandIn, type StandIn } from '../test-support/backend-stand-in';
import { content } from '../test-support/beat-content';
import { HeartbeatSender } from './heartbeat-sender';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(): Promise<StandIn> {
  const standIn = await backendStandIn();
  cleanups.push(standIn.close);
  return standIn;
}

/** Beats every 100 ms over the beat socket (the default) or HTTP only, carrying `health` and, with `metrics`, a real sample. */
function beat(
  standIn: StandIn,
  health: AgentHealthService,
  metrics?: RuntimeMetrics,
  transport: 'socket' | 'http' = 'socket',
): HeartbeatSender {
  const http = new BackendLink([standIn.url], { keepAliveMs: 1000 });
  const link = transport === 'http' ? http : new BeatSocketLink(http, { retryMinMs: 100, retryMaxMs: 1000, openWaitMs: 2000 });
  const sender = new HeartbeatSender({
    link,
    instanceId: 'instance-1',
    intervalMs: 100,
    describe: () => {
      const report = health.collect();
      return report === undefined ? content() : content({ health: report });
    },
    ...(metrics !== undefined && { sampleMetrics: () => metrics.sample() }),
    onCommands: () => undefined,
  });
  sender.start();
  cleanups.push(
    () => http.close(),
    () => sender.stop(),
    () => metrics?.stop(),
  );
  return sender;
}

const isFull = (beat: Heartbeat): beat is FullBeat => beat.kind === 'full';

/** What the backend makes of a beat: the protocol's own parser (a beat it refuses fails here, naming the field). */
function parsed(beat: Heartbeat): Heartbeat {
  const result = parseHeartbeat(beat);
  if (!result.success) throw new Error(`the backend would refuse ${JSON.stringify(beat)}: ${result.error.message}`);
  return result.data as Heartbeat;
}

describe('beats with health and metrics', () => {
  it.each(['socket', 'http'] as const)('carry a metrics sample in every beat and the health in full ones, over %s', async (transport) => {
    const standIn = await backend();
    const health = new AgentHealthService();
    health.setIndicator('db', () => ({ status: 'degraded', details: { pingMs: 800 } }));
    beat(standIn, health, new RuntimeMetrics(), transport);
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    expect(standIn.received.at(-1)?.via).toBe(transport);
    const beats = standIn.beats();
    expect(beats.map((b) => b.kind).slice(0, 3)).toEqual(['full', 'light', 'light']);
    expect((beats[0] as FullBeat).health).toEqual({
      status: 'degraded',
      indicators: { db: { status: 'degraded', details: { pingMs: '800' } } },
    });
    expect(beats.slice(1).some((sent) => 'health' in sent)).toBe(false);
    for (const sent of beats) {
      const metrics = (sent as { metrics?: (number | null)[] }).metrics;
      expect(metrics).toHaveLength(METRIC_FIELDS.length);
      const figure = (field: (typeof METRIC_FIELDS)[number]) => metrics?.[METRIC_FIELDS.indexOf(field)];
      expect(figure('rss')).toBeGreaterThan(1024 * 1024);
      expect(figure('heapUsed')).toBeGreaterThan(0);
      expect(figure('heapLimit')).toBeGreaterThan(figure('heapUsed') as number);
      expect(figure('uptime')).toBeGreaterThanOrEqual(0);
      for (const value of metrics ?? []) expect(value === null || (Number.isFinite(value) && value >= 0)).toBe(true);
    }
    // The backend's parser keeps every figure, light beats' included, and the health; its API names the figures.
    for (const sent of beats) expect((parsed(sent) as { metrics?: unknown }).metrics).toEqual((sent as { metrics?: unknown }).metrics);
    expect((parsed(beats[0] as Heartbeat) as FullBeat).health).toEqual((beats[0] as FullBeat).health);
    const light = beats.find((sent) => sent.kind === 'light') as { metrics: (number | null)[] };
    expect(metricsOf(light.metrics, 1).rss).toBe(light.metrics[METRIC_FIELDS.indexOf('rss')]);
  });

  it('sends no metrics without a sampler (metrics.enable=false)', async () => {
    const standIn = await backend();
    beat(standIn, new AgentHealthService());
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    expect(standIn.beats().some((sent) => 'metrics' in sent)).toBe(false);
    // No health indicator set: no health either.
    expect(standIn.beats().some((sent) => 'health' in sent)).toBe(false);
  });

  it('beats in full on the beat after the health changed, carrying it, and light again after', async () => {
    const standIn = await backend();
    const health = new AgentHealthService();
    let status: IndicatorResult = { status: 'up' };
    health.setIndicator('db', () => status);
    beat(standIn, health, new RuntimeMetrics());
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    status = { status: 'down', details: { host: 'db-1', error: 'ECONNREFUSED' } };
    const changedAt = standIn.beats().length;
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(changedAt + 3), { timeout: 10_000 });

    const beats = standIn.beats();
    const up: HealthReport = { status: 'up', indicators: { db: { status: 'up' } } };
    expect(beats[0]).toMatchObject({ kind: 'full', health: up });
    expect(beats.slice(1, changedAt).every((sent) => sent.kind === 'light')).toBe(true);
    // The change shows up in the next beat at the latest (one may have been in flight).
    const fullAfter = beats.findIndex((sent, index) => index >= changedAt && sent.kind === 'full');
    expect([changedAt, changedAt + 1]).toContain(fullAfter);
    expect((beats[fullAfter] as FullBeat).health).toEqual({
      status: 'down',
      indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED', host: 'db-1' } } },
    });
    expect(beats.slice(fullAfter + 1).every((sent) => sent.kind === 'light')).toBe(true);
    expect((parsed(beats[fullAfter] as Heartbeat) as FullBeat).health).toEqual((beats[fullAfter] as FullBeat).health);
  });

  it('keeps beating while a provider hangs or throws, and reports both down', async () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const standIn = await backend();
    const health = new AgentHealthService(300);
    let hangingCalls = 0;
    health.setIndicator('hangs', () => {
      hangingCalls += 1;
      return new Promise<IndicatorResult>(() => undefined);
    });
    health.setIndicator('throws', () => {
      throw new Error('provider bug');
    });
    health.setIndicator('fine', () => ({ status: 'up' }));
    beat(standIn, health, new RuntimeMetrics());
    // Beats come while the hanging provider's first promise is still pending: ten at 100 ms.
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(10), { timeout: 10_000 });
    expect(hangingCalls).toBe(1);
    const full = standIn.beats().filter(isFull);
    expect(full[0]?.health).toEqual({
      status: 'down',
      indicators: { fine: { status: 'up' }, throws: { status: 'down', details: { error: 'provider bug' } } },
    });
    await vi.waitFor(
      () =>
        expect(standIn.beats().filter(isFull).at(-1)?.health).toEqual({
          status: 'down',
          indicators: {
            fine: { status: 'up' },
            hangs: { status: 'down', details: { error: 'timed out after 300 ms' } },
            throws: { status: 'down', details: { error: 'provider bug' } },
          },
        }),
      { timeout: 10_000 },
    );
    for (const sent of standIn.beats()) parsed(sent);
    // Every beat was answered and none failed: light beats between the two full ones.
    expect(standIn.beats().filter((sent) => sent.kind === 'light').length).toBeGreaterThan(0);
  });
});
