import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FullBeat, InstanceList } from '@vigil/protocol';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullBeat, killAll, startBackend, type Backend } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(import.meta.dirname, '..', 'screenshots');
const FLEET = 10_000;
const SERVICES = [
  'orders',
  'payments',
  'checkout',
  'inventory',
  'search',
  'catalog',
  'cart',
  'shipping',
  'billing',
  'auth',
  'accounts',
  'notifications',
  'pricing',
  'reviews',
  'recommendations',
  'media',
  'gateway',
  'reports',
  'ledger',
  'fraud',
];
/** Beats in flight while registering: enough to keep the backend busy, few enough for two cores. */
const CONCURRENCY = 32;

/**
 * Instance `i` of the fleet: 40 services with two plugins. Like a real fleet mid-rollout, a few
 * services drift: payments still runs template 1.1.0 on a third of its instances, and
 * http-metrics 2.1.0 is rolled out to checkout and half of cart.
 */
function beatOf(i: number): FullBeat {
  const base = SERVICES[i % SERVICES.length]!;
  const service = `${base}${i % 40 < 20 ? '' : '-worker'}`;
  const templateVersion = service === 'payments' && i % 3 === 0 ? '1.1.0' : '1.2.0';
  const metricsVersion = service.startsWith('checkout') || (service === 'cart' && i % 2 === 0) ? '2.1.0' : '2.0.4';
  return fullBeat(`scale-${String(i).padStart(5, '0')}`, {
    service,
    appName: i % 40 < 20 ? 'shop' : 'shop-workers',
    appType: 'node',
    hostName: `${service}-${Math.floor(i / 40)}`,
    ip: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    processId: 1000 + i,
    plugins: [
      { name: 'template', version: templateVersion, extInfo: { status: 'started' } },
      { name: 'http-metrics', version: metricsVersion, extInfo: { port: String(8000 + (i % 100)), routes: String(5 + (i % 20)) } },
    ],
  });
}

async function put(url: string, body: unknown): Promise<void> {
  const response = await fetch(`${url}/api/v1/heartbeat`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`beat answered ${response.status}: ${await response.text()}`);
}

describe('dashboard with 10,000 instances', () => {
  let backend: Backend;
  let browser: Browser;

  beforeAll(async () => {
    // Leases far longer than the test: the fleet stays healthy without beating again.
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '3600000', VIGIL_REMOVE_AFTER_MS: '7200000' });
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < FLEET) await put(backend.url, beatOf(next++));
      }),
    );
    console.log(`registered ${FLEET} instances in ${Date.now() - started} ms`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it('shows the first rows and a status change, rendering only the rows in view (how fast: bench:dashboard)', async () => {
    const { total } = (await (await fetch(`${backend.url}/api/v1/instances?limit=1`)).json()) as InstanceList;
    expect(total).toBe(FLEET);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

    const loadStarted = Date.now();
    await page.goto(backend.url);
    await page.locator('[data-testid="instance-row"]').first().waitFor({ timeout: 10_000 });
    const firstRowsMs = Date.now() - loadStarted;
    console.log(`first rows visible ${firstRowsMs} ms after page load started`);
    expect(await page.getByTestId('result-line').textContent()).toBe('10,000 instances');
    expect(await page.getByTestId('count-total').textContent()).toBe('Instances10,000');
    // Virtual: a screenful of rows in the DOM, not ten thousand.
    expect(await page.getByTestId('instance-row').count()).toBeLessThan(60);

    const target = await page.locator('[data-testid="instance-row"]').nth(3).getAttribute('data-instance-id');
    expect(target).not.toBeNull();
    const changeSent = Date.now();
    await put(backend.url, { v: 1, kind: 'goodbye', instanceId: target, heartbeatTime: Date.now(), lastHeartbeatTime: null });
    await page.waitForFunction(
      (id) => document.querySelector(`[data-instance-id="${id}"] [data-testid="status"]`)?.textContent === 'offline',
      target,
      { polling: 'raf', timeout: 15_000 },
    );
    console.log(`status change shown ${Date.now() - changeSent} ms after the goodbye was sent`);
    await expect.poll(() => page.getByTestId('count-offline').textContent()).toBe('Offline1');
    await page.screenshot({ path: join(screenshots, 'scale-instances.png') });

    // Scrolling to the middle loads that part of the list.
    const scrollStarted = Date.now();
    await page.getByRole('region', { name: 'Instances' }).evaluate((element) => {
      element.scrollTop = 5_000 * 40;
    });
    await page.locator('[data-testid="instance-row"][aria-rowindex="5002"]').waitFor({ timeout: 15_000 });
    console.log(`rows around 5,000 shown ${Date.now() - scrollStarted} ms after scrolling there`);
    expect(await page.getByTestId('instance-row').count()).toBeLessThan(60);
    await page.close();
  });

  it('filters the fleet on the backend, and sums it up per service and per plugin version', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${backend.url}/#/?service=orders&plugin=template&q=orders-1`);
    // orders-1, orders-10..19, orders-100..199: 111 of the 250 orders instances.
    await expect.poll(() => page.getByTestId('result-line').textContent()).toBe('111 instances match');
    expect(await page.locator('[data-testid="instance-row"]').first().textContent()).toContain('orders');

    await page.goto(`${backend.url}/#/plugins`);
    // Payments is instance 1, 41, 81...: every third of those still runs template 1.1.0.
    const payments = Array.from({ length: FLEET / 40 }, (_, k) => 1 + k * 40);
    const stale = page.locator('[data-testid="matrix-cell"][data-service="payments"][data-version="1.1.0"]');
    await expect.poll(() => stale.textContent()).toBe(String(payments.filter((i) => i % 3 === 0).length));
    const current = page.locator('[data-testid="matrix-cell"][data-service="orders"][data-version="1.2.0"]');
    expect(await current.textContent()).toBe('250');
    await page.screenshot({ path: join(screenshots, 'scale-plugins.png'), fullPage: true });

    // Some trouble for the wallboard, with per-instance timings (Nacos's metadata keys): a cron
    // service whose two instances stop beating (lost after their own 1 s timeout), and an indexer
    // whose 400 ms beats stop (suspect after 1.4 s).
    for (const n of [0, 1]) {
      const service = 'legacy-cron';
      await put(backend.url, {
        ...beatOf(n),
        instanceId: `cron-${n}`,
        service,
        artifact: service,
        hostName: `${service}-${n}`,
        metadata: { 'preserved.heart.beat.timeout': '1000' },
      });
    }
    for (const n of [0, 1, 2]) {
      const service = 'search-indexer';
      await put(backend.url, {
        ...beatOf(n),
        instanceId: `indexer-${n}`,
        service,
        artifact: service,
        hostName: `${service}-${n}`,
        metadata: { 'preserved.heart.beat.interval': '400' },
      });
    }
    await page.goto(`${backend.url}/#/wallboard`);
    await expect.poll(() => page.getByTestId('service-tile').count()).toBe(42);
    const tile = (service: string) => page.locator(`[data-testid="service-tile"][data-service="${service}"]`);
    await expect.poll(() => tile('legacy-cron').getAttribute('data-status'), { timeout: 15_000 }).toBe('lost');
    await expect.poll(() => tile('search-indexer').getAttribute('data-status'), { timeout: 15_000 }).toBe('suspect');
    // Worst first: where eyes land.
    expect(await page.getByTestId('service-tile').first().getAttribute('data-service')).toBe('legacy-cron');
    await page.screenshot({ path: join(screenshots, 'scale-wallboard.png') });
    await page.close();
  });
});
