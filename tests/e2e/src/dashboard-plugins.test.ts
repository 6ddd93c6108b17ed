import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList, Instance } from '@vigil/protocol';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startBackend, startProcess, waitFor, type Backend, type Proc } from './harness.js';

const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(import.meta.dirname, '..', 'screenshots');
const VIEWPORT = { width: 1440, height: 900 };
const INTERVAL_MS = 300;
/** Commands and config ride beat replies: a few intervals, on a machine busy with other tests. */
const AGENT_TIMEOUT_MS = 20_000;
/** Each test walks a whole flow of several commands or versions: a safety net, not a speed goal. */
const TEST_TIMEOUT_MS = 180_000;

/**
 * `greeter`: not loaded at start; once installed it adds a response header naming its version and
 * says so in its ext-info. Version 2.0.0 sits in a folder of its own beside it, as upgrades find it.
 */
const greeter = (version: string) => `
const { definePlugin, HeartbeatService, ServiceManager } = require('@vigil/agent');
ServiceManager.getService(HeartbeatService).setExtInfo(() => ({ greeting: 'hello' }));
module.exports = definePlugin({
  interceptors: [
    {
      module: 'http',
      export: 'ServerResponse.prototype',
      method: 'end',
      before(ctx) {
        if (!ctx.target.headersSent) ctx.target.setHeader('x-greeter', '${version}');
      },
    },
  ],
});
`;

/**
 * `tuner`: loaded at start, with settings that change at run time. Its ext-info shows the values
 * it reads and how many changes its onChange saw; it refuses the greeting "boom".
 */
const TUNER = `
const { ConfigService, definePlugin, HeartbeatService, ServiceManager } = require('@vigil/agent');
const config = ServiceManager.getService(ConfigService);
let changes = 0;
config.onChange((values) => {
  if (values.greeting === 'boom') throw new Error('boom is not a greeting');
  changes++;
});
ServiceManager.getService(HeartbeatService).setExtInfo(() => ({
  greeting: String(config.get('greeting')),
  limit: String(config.get('limit')),
  changes: String(changes),
}));
module.exports = definePlugin({
  settings: {
    greeting: { type: 'string', default: 'hello', description: 'What the service says' },
    limit: { type: 'number', default: 10, description: 'Requests at once' },
    verbose: { type: 'boolean', default: false },
    hosts: { type: 'string[]', default: [] },
  },
  interceptors: [],
});
`;

interface App extends Proc {
  /** The port the service listens on, once it said. */
  port: () => Promise<number>;
}

/** A CommonJS HTTP service under the real agent, with `greeter` (1.0.0 and 2.0.0) and `tuner` in its plugins folder, `tuner` loaded. */
function startApp(backendUrl: string, service: string): App {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-plugins-'));
  for (const [folder, name, version, source] of [
    ['greeter', 'greeter', '1.0.0', greeter('1.0.0')],
    ['greeter@2.0.0', 'greeter', '2.0.0', greeter('2.0.0')],
    ['tuner', 'tuner', '1.0.0', TUNER],
  ] as const) {
    mkdirSync(join(dir, 'vigil', 'plugins', folder), { recursive: true });
    writeFileSync(join(dir, 'vigil', 'plugins', folder, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
    writeFileSync(join(dir, 'vigil', 'plugins', folder, 'index.js'), source);
  }
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [`service.name=${service}`, 'app.name=e2e', `heartbeat.interval=${INTERVAL_MS}`, `backend.url=${backendUrl}`, 'plugins=tuner', ''].join(
      '\n',
    ),
  );
  writeFileSync(
    join(dir, 'app.cjs'),
    `const { createServer } = require('node:http');\n` +
      `const server = createServer((req, res) => res.end('ok'));\n` +
      `server.listen(0, '127.0.0.1', () => console.log('port=' + server.address().port));\n`,
  );
  const proc = startProcess(process.execPath, ['--require', require.resolve('@vigil/agent/register'), 'app.cjs'], { cwd: dir });
  return {
    ...proc,
    port: () => waitFor(`the app's port (output: ${proc.output()})`, () => Number(/port=(\d+)/.exec(proc.stdout())?.[1]) || undefined),
  };
}

/** Waits for the app's instance with `tuner` reporting, and returns it. */
async function instanceOf(backend: Backend, app: App): Promise<Instance> {
  const pid = app.child.pid ?? -1;
  return waitFor(`the instance of pid ${pid} (output: ${app.output()})`, async () => {
    const found = await instanceOfPid(backend, pid);
    return found?.status === 'healthy' && found.plugins.some((p) => p.name === 'tuner' && p.extInfo.greeting) ? found : undefined;
  });
}

async function greeterHeader(app: App): Promise<string | null> {
  const response = await fetch(`http://127.0.0.1:${await app.port()}/`);
  await response.text();
  return response.headers.get('x-greeter');
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

const pluginRow = (page: Page, plugin: string) => page.locator(`[data-testid="plugin-row"][data-plugin="${plugin}"]`);
const pluginNames = async (backend: Backend, id: string) => (await backend.instance(id))?.plugins.map((p) => p.name).sort() ?? [];
const extInfo = async (backend: Backend, id: string, plugin: string) =>
  (await backend.instance(id))?.plugins.find((p) => p.name === plugin)?.extInfo ?? {};

describe('dashboard: hot plugging and plugin configuration', () => {
  let backend: Backend;
  let browser: Browser;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-plugin-ops-')) });
    mkdirSync(screenshots, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it(
    'installs, upgrades and uninstalls a plugin on an instance from its detail view, each command reaching succeeded and the plugin at work',
    async () => {
      const app = startApp(backend.url, 'e2e-install');
      const { instanceId } = await instanceOf(backend, app);
      expect(await greeterHeader(app)).toBeNull();

      const { page, errors } = await openPage(browser, `${backend.url}/#/instances/${encodeURIComponent(instanceId)}`);
      await pluginRow(page, 'tuner').waitFor();
      expect(await pluginRow(page, 'greeter').count()).toBe(0);

      // Install: the command shows queued or delivered, then succeeded when the agent reports it.
      await page.getByTestId('install-plugin').fill('greeter');
      await page.getByTestId('install-send').click();
      const row = page.getByTestId('command-row').first();
      await expect.poll(() => row.getAttribute('data-state'), { timeout: AGENT_TIMEOUT_MS }).toBe('succeeded');
      expect(await row.textContent()).toContain('install greeter');
      expect(await page.getByTestId('command-progress').textContent()).toBe('1 of 1 succeeded');
      // The plugin appears in the list with its ext-info, and its interceptor works in the running service.
      await pluginRow(page, 'greeter').waitFor({ timeout: AGENT_TIMEOUT_MS });
      await expect.poll(() => pluginRow(page, 'greeter').textContent()).toContain('greeting=hello');
      expect(await greeterHeader(app)).toBe('1.0.0');
      await page.screenshot({ path: join(screenshots, 'plugin-installed.png'), fullPage: true });

      // The backend's list agrees with the page, and the agent's event carries the command id.
      const commands = (await (await fetch(`${backend.url}/api/v1/plugin-commands?instanceId=${instanceId}`)).json()) as {
        commands: { id: string; state: string; type: string }[];
      };
      const install = commands.commands.find((c) => c.type === 'plugin.install');
      expect(install?.state).toBe('succeeded');
      const events = (await (
        await fetch(`${backend.url}/api/v1/events?instanceId=${instanceId}&type=plugin.installed`)
      ).json()) as EventList;
      expect(events.events[0]?.attributes).toMatchObject({ plugin: 'greeter', command: install?.id });

      // Upgrade to 2.0.0: the row shows the new version, and the service answers with it.
      await pluginRow(page, 'greeter').getByTestId('plugin-upgrade').click();
      await pluginRow(page, 'greeter').getByTestId('plugin-upgrade-version').fill('2.0.0');
      await pluginRow(page, 'greeter').getByTestId('plugin-upgrade-send').click();
      const latest = page.getByTestId('command-row').first();
      const latestCommand = async () => [await latest.locator('td').first().textContent(), await latest.getAttribute('data-state')];
      await expect.poll(latestCommand, { timeout: AGENT_TIMEOUT_MS }).toEqual(['upgrade greeter 2.0.0', 'succeeded']);
      await expect.poll(() => pluginRow(page, 'greeter').locator('td').first().textContent(), { timeout: AGENT_TIMEOUT_MS }).toBe('2.0.0');
      expect(await greeterHeader(app)).toBe('2.0.0');

      // Uninstall, confirmed: the plugin leaves the list and the service answers as before.
      await pluginRow(page, 'greeter').getByTestId('plugin-uninstall').click();
      await pluginRow(page, 'greeter').getByTestId('plugin-uninstall-confirm').click();
      await expect.poll(latestCommand, { timeout: AGENT_TIMEOUT_MS }).toEqual(['uninstall greeter', 'succeeded']);
      await pluginRow(page, 'greeter').waitFor({ state: 'detached', timeout: AGENT_TIMEOUT_MS });
      expect(await pluginNames(backend, instanceId)).toEqual(['tuner']);
      expect(await greeterHeader(app)).toBeNull();

      // A plugin the agent cannot find fails, with the agent's reason beside it.
      await page.getByTestId('install-plugin').fill('no-such-plugin');
      await page.getByTestId('install-send').click();
      const failed = page.getByTestId('command-row').first();
      await expect.poll(() => failed.getAttribute('data-state'), { timeout: AGENT_TIMEOUT_MS }).toBe('failed');
      expect(await failed.getByTestId('command-reason').textContent()).toMatch(/no-such-plugin/);
      await page.screenshot({ path: join(screenshots, 'plugin-install-failed.png'), fullPage: true });
      expect(errors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'installs and uninstalls a plugin on every instance of a service from the plugin matrix, with progress per instance',
    async () => {
      const service = 'e2e-matrix';
      const apps = [startApp(backend.url, service), startApp(backend.url, service)];
      const ids = (await Promise.all(apps.map((app) => instanceOf(backend, app)))).map((i) => i.instanceId).sort();

      const { page, errors } = await openPage(browser, `${backend.url}/#/plugins`);
      // The form offers the service once the fleet summary has it.
      await page.locator(`[data-testid="install-service"] option[value="${service}"]`).waitFor({ state: 'attached' });
      await page.getByTestId('install-plugin').fill('greeter');
      await page.getByTestId('install-service').selectOption(service);
      await page.getByTestId('install-send').click();

      const batch = page.locator(`[data-testid="batch-progress"][data-plugin="greeter"][data-service="${service}"]`);
      await expect
        .poll(() => batch.getByTestId('command-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-instance-id')).sort()))
        .toEqual(ids);
      await expect.poll(() => batch.getByTestId('command-progress').textContent(), { timeout: AGENT_TIMEOUT_MS }).toBe('2 of 2 succeeded');
      // The matrix shows greeter on both instances of the service.
      const cell = page.locator(
        `[data-testid="plugin-matrix"][data-plugin="greeter"] [data-testid="matrix-cell"][data-service="${service}"]`,
      );
      await expect.poll(() => cell.textContent(), { timeout: AGENT_TIMEOUT_MS }).toBe('2');
      await page.screenshot({ path: join(screenshots, 'plugins-install.png'), fullPage: true });
      for (const app of apps) expect(await greeterHeader(app)).toBe('1.0.0');

      // Uninstall from the service's row of greeter's matrix.
      const row = page.locator(
        `[data-testid="plugin-matrix"][data-plugin="greeter"] [data-testid="matrix-row"][data-service="${service}"]`,
      );
      await row.getByTestId('plugin-uninstall').click();
      await row.getByTestId('plugin-uninstall-confirm').click();
      const uninstall = page.getByTestId('batch-progress').first();
      await expect.poll(() => uninstall.locator('h3').textContent()).toBe(`uninstall greeter on ${service}`);
      await expect
        .poll(() => uninstall.getByTestId('command-progress').textContent(), { timeout: AGENT_TIMEOUT_MS })
        .toBe('2 of 2 succeeded');
      await page.locator('[data-testid="plugin-matrix"][data-plugin="greeter"]').waitFor({ state: 'detached', timeout: AGENT_TIMEOUT_MS });
      for (const app of apps) expect(await greeterHeader(app)).toBeNull();
      expect(errors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'edits a plugin’s settings on its config page: a bad value refused beside its field, saved, applied, history, diff and rollback',
    async () => {
      const service = 'e2e-config';
      const app = startApp(backend.url, service);
      const { instanceId } = await instanceOf(backend, app);

      // From the instance detail, the plugin's row links to its service's settings.
      const { page, errors } = await openPage(browser, `${backend.url}/#/instances/${encodeURIComponent(instanceId)}`);
      await pluginRow(page, 'tuner').getByTestId('plugin-config-link').click();
      await expect.poll(() => page.url()).toContain(`#/services/${service}/plugins/tuner/config`);
      await page.getByTestId('setting-limit').waitFor();
      // Type-aware inputs, starting from the declared defaults.
      expect(await page.getByTestId('setting-limit').inputValue()).toBe('10');
      expect(await page.getByTestId('setting-verbose').getAttribute('type')).toBe('checkbox');
      expect(await page.getByTestId('setting-hosts').evaluate((e) => e.tagName)).toBe('TEXTAREA');

      // A value that is not the declared type: the API's 400, beside the field it names; nothing saved.
      await page.getByTestId('setting-limit').fill('fast');
      await page.getByTestId('config-save').click();
      await page.getByTestId('setting-error-limit').waitFor();
      expect(await page.getByTestId('setting-limit').getAttribute('aria-invalid')).toBe('true');
      await page.screenshot({ path: join(screenshots, 'plugin-config-refused.png'), fullPage: true });
      expect(await page.getByTestId('config-version').textContent()).toBe('no version yet');

      // Saved as version 1, and applied: the plugin reads the new values and its onChange saw them.
      await page.getByTestId('setting-limit').fill('25');
      await page.getByTestId('setting-greeting').fill('hi');
      await page.getByTestId('config-comment').fill('more at once');
      await page.getByTestId('config-save').click();
      await expect.poll(() => page.getByTestId('config-saved').textContent()).toBe('Saved as version 1');
      await expect
        .poll(() => page.locator('[data-testid="applied-group"][data-version="1"]').textContent(), { timeout: AGENT_TIMEOUT_MS })
        .toContain(instanceId);
      expect(await page.getByTestId('applied-summary').textContent()).toBe('1 of 1 instance up to date.');
      expect(await extInfo(backend, instanceId, 'tuner')).toMatchObject({ greeting: 'hi', limit: '25', changes: '1' });

      // Version 2, then the history: who, when, why, and the diff of version 1 against the current one.
      await page.getByTestId('setting-greeting').fill('hey');
      await page.getByTestId('config-save').click();
      await expect.poll(() => page.getByTestId('config-saved').textContent()).toBe('Saved as version 2');
      await expect.poll(() => page.getByTestId('history-row').count()).toBe(2);
      const first = page.locator('[data-testid="history-row"][data-version="1"]');
      expect(await first.getByTestId('history-by').textContent()).toBe('anonymous');
      expect(await first.textContent()).toContain('more at once');
      const diff = page.getByTestId('config-diff');
      expect(await diff.getAttribute('data-from')).toBe('1');
      expect(await diff.locator('[data-testid="diff-row"][data-setting="greeting"]').getAttribute('data-change')).toBe('changed');
      expect(await diff.locator('[data-testid="diff-row"][data-setting="limit"]').getAttribute('data-change')).toBe('same');
      await expect
        .poll(() => page.locator('[data-testid="applied-group"][data-version="2"]').textContent(), { timeout: AGENT_TIMEOUT_MS })
        .toContain(instanceId);
      await page.screenshot({ path: join(screenshots, 'plugin-config.png'), fullPage: true });

      // Roll back to version 1: a new version 3 with its values, applied by the instance.
      await first.getByTestId('history-rollback').click();
      await first.getByTestId('history-rollback-confirm').click();
      await expect.poll(() => page.getByTestId('config-saved').textContent()).toBe('Rolled back as version 3');
      await expect
        .poll(() => page.locator('[data-testid="history-row"][data-version="3"]').textContent())
        .toContain('rollback to version 1');
      await expect.poll(() => page.getByTestId('setting-greeting').inputValue()).toBe('hi');
      await expect.poll(async () => (await extInfo(backend, instanceId, 'tuner')).greeting, { timeout: AGENT_TIMEOUT_MS }).toBe('hi');

      // A value the plugin's onChange throws on: the instance keeps version 3 and the page says it refused 4.
      await page.getByTestId('setting-greeting').fill('boom');
      await page.getByTestId('config-save').click();
      await expect.poll(() => page.getByTestId('config-saved').textContent()).toBe('Saved as version 4');
      const refused = page.locator(`[data-testid="applied-refused"][data-instance-id="${instanceId}"]`);
      await expect.poll(() => refused.textContent(), { timeout: AGENT_TIMEOUT_MS }).toContain('refused version 4');
      expect(await refused.textContent()).toContain('kept version 3');
      expect(await extInfo(backend, instanceId, 'tuner')).toMatchObject({ greeting: 'hi' });
      await page.screenshot({ path: join(screenshots, 'plugin-config-rejected.png'), fullPage: true });
      expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
