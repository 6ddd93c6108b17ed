import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList, FullBeat } from '@vigil/protocol';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoDir,
  freePort,
  fullBeat as harnessFullBeat,
  instanceOfPid,
  killAll,
  startAgentApp,
  startBackend,
  startBackendOnPort,
  startProcess,
  waitFor,
  type Backend,
  type Proc,
} from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(import.meta.dirname, '..', 'screenshots');
const LOST_AFTER_MS = 1_500;
const INTERVAL_MS = 300;
const VIEWPORT = { width: 1440, height: 900 };

async function launch(): Promise<Browser> {
  mkdirSync(screenshots, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** A page that fails the test on any error the dashboard throws or logs. */
async function openPage(
  browser: Browser,
  url: string,
  options: { colorScheme?: 'light' | 'dark' } = {},
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: options.colorScheme ?? 'light' });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  await page.goto(url);
  return { page, errors };
}

const row = (page: Page, instanceId: string) => page.locator(`[data-testid="instance-row"][data-instance-id="${instanceId}"]`);

/** Waits until the agent app's instance is healthy with its plugin's ext-info, and returns its id. */
async function healthyInstanceOf(backend: Backend, proc: Proc): Promise<string> {
  const pid = proc.child.pid ?? -1;
  const instance = await waitFor(`the instance of pid ${pid} (output: ${proc.output()})`, async () => {
    const found = await instanceOfPid(backend, pid);
    return found?.status === 'healthy' && found.plugins[0]?.extInfo.status === 'started' ? found : undefined;
  });
  return instance.instanceId;
}

describe('dashboard in headless Chromium', () => {
  let backend: Backend;
  let browser: Browser;

  beforeAll(async () => {
    backend = await startBackend({
      VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS),
      VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
      VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-data-')),
    });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it('shows the demo service live with its plugin version and ext-info, then lost in place when killed, with the lost event live', async () => {
    // The demo service exactly as `npm start` runs it, pointed at this backend.
    const demo = startProcess(process.execPath, ['--import', '@vigil/agent/register', 'server.mjs'], {
      cwd: demoDir,
      env: { PORT: '0', VIGIL_BACKEND_URL: backend.url, VIGIL_HEARTBEAT_INTERVAL: String(INTERVAL_MS) },
    });
    const id = await healthyInstanceOf(backend, demo);

    const { page, errors } = await openPage(browser, backend.url);
    const demoRow = row(page, id);
    await demoRow.waitFor({ timeout: 10_000 });
    await expect.poll(() => demoRow.getByTestId('status').textContent()).toBe('healthy');
    expect(await demoRow.getByTestId('plugins').textContent()).toContain('template 1.2.0');
    expect(await demoRow.getByTestId('ext-info').textContent()).toContain('status=started');
    expect(await demoRow.textContent()).toContain('demo-service');
    expect(await demoRow.getByTestId('last-heartbeat').textContent()).toMatch(/^\d+ s ago$/);
    expect(await page.getByTestId('connection').textContent()).toBe('live');
    await expect.poll(() => page.getByTestId('count-healthy').textContent()).toMatch(/Healthy[1-9]/);
    await page.screenshot({ path: join(screenshots, 'instances.png') });

    // A second tab on the events view, filtered to this service's instance events.
    const events = await openPage(browser, `${backend.url}/#/events?service=demo-service&type=instance.&range=30m`);
    await events.page.locator('[data-testid="event-row"][data-event-type="instance.registered"]').waitFor();
    const lostCardBefore = Number((await events.page.getByTestId('level-important').textContent())?.replace(/\D/g, ''));

    demo.child.kill('SIGKILL');
    // No reload: the socket's delta turns the row lost, and the event arrives live.
    await expect.poll(() => demoRow.getByTestId('status').textContent(), { timeout: LOST_AFTER_MS + 5_000 }).toBe('lost');
    await page.screenshot({ path: join(screenshots, 'instances-lost.png') });
    const lostEvent = events.page.locator('[data-testid="event-row"][data-event-type="instance.lost"]');
    await lostEvent.waitFor({ timeout: 5_000 });
    expect(await lostEvent.textContent()).toContain('important');
    await expect.poll(() => events.page.getByTestId('level-important').textContent()).toBe(`important${lostCardBefore + 1}`);
    await events.page.screenshot({ path: join(screenshots, 'events.png') });

    expect([...errors, ...events.errors]).toEqual([]);
    await page.close();
    await events.page.close();
  });

  it('shows an instance stopped with SIGTERM as offline: its agent said goodbye', async () => {
    const app = startAgentApp({ moduleSystem: 'esm', service: 'e2e-sigterm', backendUrl: backend.url, intervalMs: INTERVAL_MS });
    const id = await healthyInstanceOf(backend, app);
    const { page, errors } = await openPage(browser, `${backend.url}/#/?service=e2e-sigterm`);
    await expect.poll(() => row(page, id).getByTestId('status').textContent()).toBe('healthy');

    app.child.kill('SIGTERM');
    await expect.poll(() => row(page, id).getByTestId('status').textContent(), { timeout: 15_000 }).toBe('offline');
    // The goodbye did it, not the lease running out first.
    const lost = (await (await fetch(`${backend.url}/api/v1/events?instanceId=${id}&type=instance.lost`)).json()) as EventList;
    expect(lost.events).toEqual([]);
    // The agent re-raises the signal once its goodbye is out, so the service still stops.
    await app.exited;
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters by service and status on the backend, keeps the filters in the URL and across a reload', async () => {
    const [a1, a2, b1] = [
      startAgentApp({ moduleSystem: 'esm', service: 'e2e-filter-a', backendUrl: backend.url, intervalMs: INTERVAL_MS }),
      startAgentApp({ moduleSystem: 'cjs', service: 'e2e-filter-a', backendUrl: backend.url, intervalMs: INTERVAL_MS }),
      startAgentApp({ moduleSystem: 'esm', service: 'e2e-filter-b', backendUrl: backend.url, intervalMs: INTERVAL_MS }),
    ];
    const [idA1, idA2, idB1] = await Promise.all([
      healthyInstanceOf(backend, a1),
      healthyInstanceOf(backend, a2),
      healthyInstanceOf(backend, b1),
    ]);
    const { page, errors } = await openPage(browser, backend.url);
    await row(page, idB1).waitFor();

    await page.getByTestId('filter-service').selectOption('e2e-filter-a');
    await expect.poll(() => page.url()).toContain('service=e2e-filter-a');
    await expect.poll(() => page.getByTestId('instance-row').count()).toBe(2);
    expect(await row(page, idB1).count()).toBe(0);

    a2.child.kill('SIGKILL');
    await expect.poll(() => row(page, idA2).getByTestId('status').textContent(), { timeout: LOST_AFTER_MS + 5_000 }).toBe('lost');
    // The status filter by keyboard: focus the checkbox and press Space.
    await page.getByTestId('filter-status-healthy').focus();
    await page.keyboard.press('Space');
    await expect.poll(() => page.url()).toContain('status=healthy');
    await expect.poll(() => page.getByTestId('instance-row').count()).toBe(1);
    expect(await row(page, idA1).count()).toBe(1);
    expect(await page.getByTestId('result-line').textContent()).toBe('1 instance match');

    await page.reload();
    await row(page, idA1).waitFor();
    expect(await page.getByTestId('filter-service').inputValue()).toBe('e2e-filter-a');
    expect(await page.getByTestId('filter-status-healthy').isChecked()).toBe(true);
    expect(await page.getByTestId('instance-row').count()).toBe(1);

    // Sorting by last heartbeat, newest first, from the column header.
    await page.getByTestId('filter-status-healthy').uncheck();
    await page.getByTestId('sort-lastHeartbeatTime').click();
    await expect.poll(() => page.url()).toContain('sort=lastHeartbeatTime');
    await expect.poll(() => page.locator('[data-testid="instance-row"]').first().getAttribute('data-instance-id')).toBe(idA1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('disables and re-enables a plugin from the instance detail view; the agent carries it out and says so', async () => {
    const app = startAgentApp({ moduleSystem: 'esm', service: 'e2e-control', backendUrl: backend.url, intervalMs: INTERVAL_MS });
    const id = await healthyInstanceOf(backend, app);
    const { page, errors } = await openPage(browser, `${backend.url}/#/?service=e2e-control`);
    // From the table to the detail view, as a user would.
    await row(page, id).getByRole('link').click();
    await page.getByTestId('instance-detail').waitFor();
    expect(page.url()).toContain(`#/instances/${id}`);
    // Live beats extend the sparkline the REST detail started.
    await expect
      .poll(async () => Number(await page.getByTestId('beat-sparkline').getAttribute('data-gaps')), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(10);
    expect(await page.getByTestId('detail-status').textContent()).toBe('healthy');
    await page.screenshot({ path: join(screenshots, 'instance-detail.png'), fullPage: true });

    const plugin = page.locator('[data-testid="plugin-row"][data-plugin="template"]');
    await plugin.getByTestId('plugin-disable').click();
    // The outcome shown is the agent's own event, which carries the command id back.
    await expect
      .poll(() => plugin.getByTestId('plugin-outcome').textContent(), { timeout: 10_000 })
      .toMatch(/^agent: plugin template disabled/);
    await page.screenshot({ path: join(screenshots, 'instance-detail-plugin-disabled.png'), fullPage: true });

    const events = (await (await fetch(`${backend.url}/api/v1/events?instanceId=${id}&type=plugin.`)).json()) as EventList;
    const sent = events.events.find((e) => e.type === 'plugin.command-sent');
    const disabled = events.events.find((e) => e.type === 'plugin.disabled' && e.origin === 'agent');
    expect(disabled?.attributes).toMatchObject({ plugin: 'template', commandId: sent?.attributes.commandId });
    // The agent's heartbeat lists it as disabled, and so does the page.
    await waitFor('the plugin to show as disabled', async () =>
      (await backend.instance(id))?.plugins[0]?.enabled === false ? true : undefined,
    );
    await plugin.getByTestId('plugin-disabled').waitFor({ timeout: 10_000 });

    await plugin.getByTestId('plugin-enable').click();
    await expect
      .poll(() => plugin.getByTestId('plugin-outcome').textContent(), { timeout: 10_000 })
      .toMatch(/^agent: plugin template enabled/);
    await plugin.getByTestId('plugin-disabled').waitFor({ state: 'detached', timeout: 10_000 });
    await plugin.getByTestId('plugin-disable').waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
    app.child.kill('SIGKILL');
  });

  it('shows which plugin versions run where, and one wallboard tile per service coloured by its worst instance', async () => {
    const app = startAgentApp({ moduleSystem: 'esm', service: 'e2e-wallboard', backendUrl: backend.url, intervalMs: INTERVAL_MS });
    await healthyInstanceOf(backend, app);
    const { page, errors } = await openPage(browser, `${backend.url}/#/plugins`);
    const cell = page.locator('[data-testid="matrix-cell"][data-service="e2e-wallboard"][data-version="1.2.0"]');
    await expect.poll(() => cell.textContent()).toBe('1');
    await page.screenshot({ path: join(screenshots, 'plugins.png'), fullPage: true });

    await page.getByTestId('nav-wallboard').click();
    const tile = page.locator('[data-testid="service-tile"][data-service="e2e-wallboard"]');
    await expect.poll(() => tile.getAttribute('data-status')).toBe('healthy');
    // Earlier tests left lost instances: their services' tiles are red, and listed first.
    expect(await page.locator('[data-testid="service-tile"]').first().getAttribute('data-status')).toBe('lost');
    await page.screenshot({ path: join(screenshots, 'wallboard.png'), fullPage: true });

    app.child.kill('SIGKILL');
    await expect.poll(() => tile.getAttribute('data-status'), { timeout: LOST_AFTER_MS + 5_000 }).toBe('lost');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists, adds, edits, disables and tests webhooks', async () => {
    const received: { body: string; path: string }[] = [];
    const receiver: Server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ body, path: req.url ?? '' });
        res.end('ok');
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    try {
      const { page, errors } = await openPage(browser, `${backend.url}/#/webhooks`);
      await page.getByTestId('webhook-add').click();
      await page.getByTestId('webhook-name').fill('ops-chat');
      await page.getByTestId('webhook-url').fill(`http://127.0.0.1:${port}/hook`);
      await page.getByTestId('webhook-format').selectOption('slack');
      await page.getByTestId('webhook-level').selectOption('important');
      await page.getByTestId('webhook-types').fill('instance.lost, self-preservation.');
      await page.getByTestId('webhook-save').click();
      const hook = page.locator('[data-testid="webhook-row"][data-webhook-name="ops-chat"]');
      await hook.waitFor();
      expect(await hook.textContent()).toContain('slack');

      // A refused setting is shown as the backend words it.
      await page.getByTestId('webhook-add').click();
      await page.getByTestId('webhook-name').fill('bad');
      await page.getByTestId('webhook-url').fill('ftp://example.com/x');
      await page.getByTestId('webhook-save').click();
      await expect.poll(() => page.getByTestId('webhook-form-error').textContent()).toMatch(/url: must use http or https/);
      await page.getByRole('button', { name: 'Cancel' }).click();

      await hook.getByTestId('webhook-test').click();
      await expect.poll(() => hook.getByTestId('webhook-note').textContent()).toMatch(/^test delivered \(HTTP 200\)/);
      expect(received.some((r) => r.path === '/hook')).toBe(true);

      // The switch shows the saved setting: it flips once the backend has saved it.
      await hook.getByTestId('webhook-toggle').click();
      await expect.poll(() => hook.getByTestId('webhook-toggle').isChecked()).toBe(false);
      await expect
        .poll(
          async () =>
            ((await (await fetch(`${backend.url}/api/v1/webhooks`)).json()) as { webhooks: { enabled: boolean }[] }).webhooks[0]?.enabled,
        )
        .toBe(false);

      await hook.getByTestId('webhook-edit').click();
      await page.getByTestId('webhook-name').fill('ops-chat-renamed');
      await page.getByTestId('webhook-save').click();
      await page.locator('[data-testid="webhook-row"][data-webhook-name="ops-chat-renamed"]').waitFor();
      await page.getByTestId('webhook-add').click();
      await page.getByTestId('webhook-name').fill('audit-log');
      await page.getByTestId('webhook-url').fill(`http://127.0.0.1:${port}/audit`);
      await page.getByTestId('webhook-level').selectOption('normal');
      await page.getByTestId('webhook-save').click();
      await page.locator('[data-testid="webhook-row"][data-webhook-name="audit-log"]').waitFor();
      await page.screenshot({ path: join(screenshots, 'webhooks.png'), fullPage: true });
      expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
      await page.close();
    } finally {
      receiver.close();
    }
  });

  it('reaches every control from the keyboard, and reads in the dark theme too', async () => {
    const { page, errors } = await openPage(browser, backend.url, { colorScheme: 'dark' });
    await page.locator('[data-testid="instance-row"]').first().waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(16, 19, 23)');
    await page.screenshot({ path: join(screenshots, 'instances-dark.png') });
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      reached.add(
        await page.evaluate(() => {
          const el = document.activeElement;
          return el?.getAttribute('data-testid') ?? el?.closest('[data-testid]')?.getAttribute('data-testid') ?? el?.tagName ?? '';
        }),
      );
    }
    for (const control of [
      'nav-events',
      'nav-webhooks',
      'count-lost',
      'filter-service',
      'filter-status-lost',
      'filter-plugin',
      'filter-text',
      'sort-lastHeartbeatTime',
    ]) {
      expect(reached).toContain(control);
    }
    await page.goto(`${backend.url}/#/wallboard`);
    await page.locator('[data-testid="service-tile"]').first().waitFor();
    await page.screenshot({ path: join(screenshots, 'wallboard-dark.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('dashboard connection', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  function fullBeat(instanceId: string, service: string): FullBeat {
    return harnessFullBeat(instanceId, { service, hostName: `${service}-host` });
  }

  async function beat(backend: Backend, instanceId: string, service: string): Promise<void> {
    const response = await fetch(`${backend.url}/api/v1/heartbeat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fullBeat(instanceId, service)),
    });
    expect(response.status).toBe(200);
  }

  it('says so when the socket drops, and resyncs from a fresh snapshot when it is back: nothing missed, nothing duplicated', async () => {
    const port = await freePort();
    const first = await startBackendOnPort(port);
    await beat(first, 'before-restart', 'e2e-reconnect');
    const { page } = await openPage(browser, `http://127.0.0.1:${port}/`);
    await row(page, 'before-restart').waitFor();
    expect(await page.getByTestId('disconnected-banner').count()).toBe(0);

    first.child.kill('SIGKILL');
    await first.exited;
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('disconnected');
    expect(await page.getByTestId('disconnected-banner').textContent()).toContain('not updating');
    // What was on screen stays, as the last known state.
    expect(await row(page, 'before-restart').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'disconnected.png') });

    // A new backend on the same port knows only what beats since.
    const second = await startBackendOnPort(port);
    await beat(second, 'after-restart', 'e2e-reconnect');
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await row(page, 'after-restart').waitFor();
    await expect.poll(() => row(page, 'before-restart').count()).toBe(0);
    expect(await page.getByTestId('instance-row').count()).toBe(1);
    expect(await page.getByTestId('count-total').textContent()).toBe('Instances1');
    expect(await page.getByTestId('disconnected-banner').count()).toBe(0);
    await page.close();
  });
});
