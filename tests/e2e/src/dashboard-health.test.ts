import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FullBeat, HealthReport } from '@vigil/protocol';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullBeat, killAll, startBackend, type Backend } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(import.meta.dirname, '..', 'screenshots');
const VIEWPORT = { width: 1440, height: 900 };
/** How often the test's instances beat: well inside the lease, quick enough for live charts. */
const INTERVAL_MS = 300;
const MIB = 1024 * 1024;

/** The figures of a beat's `metrics`, by name; the wire order is METRIC_FIELDS'. */
interface Figures {
  cpu: number;
  rss: number;
  heapUsed?: number;
  heapLimit?: number;
  p50?: number;
  p99: number;
  max?: number;
  elu?: number;
}

/** The beat's `metrics`; the uptime moves with every beat, as a real agent's does, so no two samples are equal. */
function wire(f: Figures): number[] {
  const uptime = process.uptime();
  return [
    f.cpu,
    f.rss,
    f.heapUsed ?? 40 * MIB,
    f.heapLimit ?? 2048 * MIB,
    f.p50 ?? 1,
    f.p99,
    f.max ?? f.p99 * 1.5,
    f.elu ?? 0.2,
    0,
    uptime,
    10,
  ];
}

async function put(backend: Backend, body: unknown): Promise<void> {
  const response = await fetch(`${backend.url}/api/v1/heartbeat`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`beat answered ${response.status}: ${await response.text()}`);
}

/**
 * Instances that beat as an agent does, over raw HTTP: a full beat (with health) when they
 * start or their health changes, light beats with their current metrics in between.
 */
class Fleet {
  private readonly figures = new Map<string, Figures | null>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly backend: Backend) {
    this.timer = setInterval(() => void this.beatAll().catch(() => undefined), INTERVAL_MS);
  }

  async start(id: string, service: string, figures: Figures | null, health?: HealthReport): Promise<void> {
    this.figures.set(id, figures);
    await this.full(id, service, health);
  }

  /** A full beat, as an agent sends when its health changed. */
  async full(id: string, service: string, health?: HealthReport): Promise<void> {
    const figures = this.figures.get(id);
    const beat: FullBeat = fullBeat(id, { service, hostName: `${id}-host` });
    await put(this.backend, { ...beat, ...(figures && { metrics: wire(figures) }), ...(health && { health }) });
  }

  set(id: string, figures: Figures): void {
    this.figures.set(id, figures);
  }

  private async beatAll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.figures].map(([instanceId, figures]) =>
        put(this.backend, {
          v: 1,
          kind: 'light',
          instanceId,
          heartbeatTime: now,
          lastHeartbeatTime: now - INTERVAL_MS,
          ...(figures && { metrics: wire(figures) }),
        }),
      ),
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  await page.goto(url);
  return { page, errors };
}

const rowIds = (page: Page) =>
  page.locator('[data-testid="instance-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-instance-id')));
const row = (page: Page, id: string) => page.locator(`[data-testid="instance-row"][data-instance-id="${id}"]`);
const chart = (page: Page, id: string) => page.locator(`[data-testid="metric-chart"][data-chart="${id}"]`);

describe('dashboard: health and load', () => {
  let backend: Backend;
  let browser: Browser;
  let fleet: Fleet;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '10000', VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-health-')) });
    fleet = new Fleet(backend);
    mkdirSync(screenshots, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  });
  afterAll(async () => {
    fleet?.stop();
    await browser?.close();
    killAll();
  });

  it('shows CPU, memory, loop delay and health in the rows, sorts by them on the backend, and filters by health', async () => {
    const service = 'e2e-sort';
    await fleet.start(
      'low',
      service,
      { cpu: 5, rss: 300 * MIB, p99: 50 },
      {
        status: 'degraded',
        indicators: { cache: { status: 'degraded', details: { hitRate: '0.2' } }, db: { status: 'up' } },
      },
    );
    await fleet.start('high', service, { cpu: 90, rss: 100 * MIB, p99: 5 });
    await fleet.start(
      'mid',
      service,
      { cpu: 40, rss: 200 * MIB, p99: 900 },
      {
        status: 'down',
        indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED 10.0.0.9:5432' } }, cache: { status: 'up' } },
      },
    );
    await fleet.start('none', service, null);

    const { page, errors } = await openPage(browser, `${backend.url}/#/?service=${service}`);
    await expect.poll(() => page.getByTestId('instance-row').count()).toBe(4);
    expect(await row(page, 'high').getByTestId('cpu').textContent()).toBe('90 %');
    expect(await row(page, 'low').getByTestId('memory').textContent()).toBe('300 MiB');
    expect(await row(page, 'mid').getByTestId('loop-delay').textContent()).toBe('900 ms');
    expect(await row(page, 'none').getByTestId('cpu').textContent()).toBe('–');
    // A down indicator makes the instance unhealthy and the row names it; degraded is a word too.
    await expect.poll(() => row(page, 'mid').getByTestId('status').textContent()).toBe('unhealthy');
    expect(await row(page, 'mid').getByTestId('health').textContent()).toBe('downdb');
    expect(await row(page, 'low').getByTestId('status').textContent()).toBe('healthy');
    expect(await row(page, 'low').getByTestId('health').textContent()).toBe('degradedcache');
    expect(await row(page, 'none').getByTestId('health').textContent()).toBe('not reported');

    // Busiest first, then reversed; an instance without metrics is last either way.
    await page.getByTestId('sort-cpu').click();
    await expect.poll(() => page.url()).toContain('sort=cpu');
    await expect.poll(() => rowIds(page)).toEqual(['high', 'mid', 'low', 'none']);
    await page.screenshot({ path: join(screenshots, 'instances-load.png') });
    await page.getByTestId('sort-cpu').click();
    await expect.poll(() => page.url()).toContain('order=asc');
    await expect.poll(() => rowIds(page)).toEqual(['low', 'mid', 'high', 'none']);
    await page.getByTestId('sort-rss').click();
    await expect.poll(() => rowIds(page)).toEqual(['low', 'mid', 'high', 'none']);
    await page.getByTestId('sort-eventLoopDelayP99').click();
    await expect.poll(() => rowIds(page)).toEqual(['mid', 'low', 'high', 'none']);

    // The rows move live as the metrics do: `high` goes quiet and `low` gets busy.
    await page.getByTestId('sort-cpu').click();
    await expect.poll(() => rowIds(page)).toEqual(['high', 'mid', 'low', 'none']);
    fleet.set('high', { cpu: 1, rss: 100 * MIB, p99: 5 });
    fleet.set('low', { cpu: 99, rss: 300 * MIB, p99: 50 });
    await expect.poll(() => row(page, 'low').getByTestId('cpu').textContent()).toBe('99 %');
    await expect.poll(() => rowIds(page)).toEqual(['low', 'mid', 'high', 'none']);

    // The health filter, kept in the URL.
    await page.getByTestId('filter-health-down').check();
    await expect.poll(() => page.url()).toContain('health=down');
    await expect.poll(() => rowIds(page)).toEqual(['mid']);
    await page.reload();
    await row(page, 'mid').waitFor();
    expect(await page.getByTestId('filter-health-down').isChecked()).toBe(true);
    await page.getByTestId('filter-health-degraded').check();
    await expect.poll(() => page.url()).toContain('health=down%2Cdegraded');
    await expect.poll(() => rowIds(page)).toEqual(['low', 'mid']);

    // The wallboard counts the unhealthy instance.
    await page.getByTestId('nav-wallboard').click();
    await expect.poll(() => page.getByTestId('wallboard-unhealthy').textContent()).toBe('1unhealthy');
    await page.screenshot({ path: join(screenshots, 'wallboard-unhealthy.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('charts the metrics history in the detail view and extends it live, with the health indicators and their details', async () => {
    const id = 'detail-1';
    const service = 'e2e-detail';
    await fleet.start(
      id,
      service,
      { cpu: 10, rss: 150 * MIB, p99: 12, heapUsed: 60 * MIB },
      {
        status: 'up',
        indicators: { db: { status: 'up', details: { pool: '10/10' } } },
      },
    );
    const { page, errors } = await openPage(browser, `${backend.url}/#/instances/${id}`);
    await page.getByTestId('instance-detail').waitFor();
    for (const name of ['cpu', 'memory', 'loop-delay', 'loop-utilization']) {
      await chart(page, name).locator('canvas').first().waitFor();
    }
    const samples = async () => Number(await chart(page, 'cpu').getAttribute('data-samples'));
    const before = await samples();
    // Live beats add points without a reload.
    await expect.poll(samples).toBeGreaterThanOrEqual(before + 5);
    fleet.set(id, { cpu: 77, rss: 150 * MIB, p99: 640, heapUsed: 60 * MIB });
    await expect.poll(() => chart(page, 'cpu').getByTestId('metric-latest').textContent()).toBe('CPU 77 %');
    await expect
      .poll(() => chart(page, 'loop-delay').getByTestId('metric-latest').textContent())
      .toBe('p50 1.0 ms, p99 640 ms, max 960 ms');
    expect(await chart(page, 'memory').getByTestId('metric-latest').textContent()).toBe(
      'RSS 150 MiB, heap used 60.0 MiB, heap limit 2.00 GiB',
    );
    const db = page.locator('[data-testid="indicator-row"][data-indicator="db"]');
    expect(await db.getAttribute('data-status')).toBe('up');
    expect(await db.textContent()).toContain('pool=10/10');

    // The service says its database is gone: the view follows within a beat.
    await fleet.full(id, service, {
      status: 'down',
      indicators: { db: { status: 'down', details: { error: 'connection refused' } }, cache: { status: 'up' } },
    });
    await expect.poll(() => page.getByTestId('detail-status').textContent()).toBe('unhealthy');
    await expect.poll(() => db.getAttribute('data-status')).toBe('down');
    expect(await db.textContent()).toContain('error=connection refused');
    expect(await page.getByTestId('detail-health').textContent()).toBe('downdb');
    await page.screenshot({ path: join(screenshots, 'instance-detail-load.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('adds, edits, disables and deletes an alert rule on the rules page, with the API’s refusal beside its field', async () => {
    const service = 'e2e-rules';
    await fleet.start('rules-1', service, { cpu: 20, rss: 100 * MIB, p99: 300 });
    const { page, errors } = await openPage(browser, `${backend.url}/#/rules`);
    await page.getByTestId('rule-add').click();
    await page.getByTestId('rule-name').fill('Loop stuck');
    await page.getByTestId('rule-metric').selectOption('eventLoopDelayP99');
    await page.getByTestId('rule-comparison').selectOption('>');
    await page.getByTestId('rule-threshold').fill('');
    await page.getByTestId('rule-duration').fill('3');
    await page.getByTestId('rule-service').fill(service);
    await page.getByTestId('rule-save').click();
    // The backend refuses a rule without a threshold, and says so beside that field.
    await expect.poll(() => page.getByTestId('rule-error-threshold').textContent()).not.toBe('');
    expect(await page.getByTestId('rule-error-name').count()).toBe(0);
    await page.screenshot({ path: join(screenshots, 'rules-refused.png') });

    await page.getByTestId('rule-threshold').fill('500');
    await page.getByTestId('rule-save').click();
    const rule = page.locator('[data-testid="rule-row"][data-rule-name="Loop stuck"]');
    await rule.waitFor();
    expect(await rule.getByTestId('rule-condition').textContent()).toBe('event-loop delay p99 > 500 ms for 3 beats');
    // 300 ms is under the threshold: it fires for no instance.
    expect(await rule.getByTestId('rule-firing').textContent()).toBe('no instance');

    // Edited down to 200 ms, it fires for the instance after three beats over it.
    await rule.getByTestId('rule-edit').click();
    expect(await page.getByTestId('rule-threshold').inputValue()).toBe('500');
    await page.getByTestId('rule-threshold').fill('200');
    await page.getByTestId('rule-level').selectOption('emergency');
    await page.getByTestId('rule-save').click();
    await expect.poll(() => rule.getByTestId('rule-condition').textContent()).toBe('event-loop delay p99 > 200 ms for 3 beats');
    expect(await rule.textContent()).toContain('emergency');
    await expect.poll(() => rule.getByTestId('rule-firing').textContent(), { timeout: 15_000 }).toBe('1 instance');
    await page.screenshot({ path: join(screenshots, 'rules.png'), fullPage: true });

    const stored = async () =>
      (
        (await (await fetch(`${backend.url}/api/v1/alert-rules`)).json()) as {
          rules: { name: string; threshold: number; enabled: boolean }[];
        }
      ).rules[0];
    expect(await stored()).toMatchObject({ name: 'Loop stuck', threshold: 200, enabled: true });
    await rule.getByTestId('rule-toggle').click();
    await expect.poll(() => rule.getByTestId('rule-toggle').isChecked()).toBe(false);
    await expect.poll(async () => (await stored())?.enabled).toBe(false);

    await rule.getByTestId('rule-delete').click();
    await rule.getByTestId('rule-delete-confirm').click();
    await rule.waitFor({ state: 'detached' });
    expect(await stored()).toBeUndefined();
    expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
    await page.close();
  });
});
