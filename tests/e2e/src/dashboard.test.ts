import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDir, instanceOfPid, killAll, startBackend, startProcess, waitFor, type Backend } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(import.meta.dirname, '..', 'screenshots');
const LOST_AFTER_MS = 1_500;

describe('dashboard in headless Chromium', () => {
  let backend: Backend;
  let browser: Browser;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    mkdirSync(screenshots, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it('shows the demo service live with its plugin and ext-info, and turns it lost in place when killed', async () => {
    // The demo service exactly as `npm start` runs it, pointed at this backend.
    const demo = startProcess(process.execPath, ['--import', '@vigil/agent/register', 'server.mjs'], {
      cwd: demoDir,
      env: { PORT: '0', VIGIL_BACKEND_URL: backend.url, VIGIL_HEARTBEAT_INTERVAL: '300' },
    });
    const pid = demo.child.pid ?? -1;
    const instance = await waitFor(`the demo instance (output: ${demo.output()})`, () => instanceOfPid(backend, pid));

    const page = await browser.newPage();
    await page.goto(backend.url);
    const row = page.locator(`[data-testid="instance-row"][data-instance-id="${instance.instanceId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.getByTestId('status').textContent()).toBe('healthy');
    expect(await row.getByTestId('plugins').textContent()).toContain('template 1.2.0');
    await expect.poll(() => row.getByTestId('ext-info').textContent()).toContain('status=started');
    expect(await row.textContent()).toContain('demo-service');
    expect(await page.getByTestId('connection').textContent()).toMatch(/live/i);
    await page.screenshot({ path: join(screenshots, 'instances-healthy.png'), fullPage: true });

    demo.child.kill('SIGKILL');
    // No reload: the socket's delta turns the row lost.
    await expect
      .poll(() => row.getByTestId('status').textContent(), { timeout: LOST_AFTER_MS + 5_000 })
      .toBe('lost');
    await page.screenshot({ path: join(screenshots, 'instances-lost.png'), fullPage: true });
    await page.close();
  });
});
