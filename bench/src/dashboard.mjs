#!/usr/bin/env node
/**
 * npm run bench:dashboard: 10k instances beating every 5 s, 1 % of them changing per second (an
 * ext-info value; as the real agent does, the next beat is then a full one, and the backend
 * pushes an `upsert`): the bytes/s pushed to one dashboard socket subscribed as the instances page
 * subscribes, the time from each state change (the full beat carrying it reaching the backend;
 * the new ext-info value is that beat's send time) to the socket delivering it, and in headless
 * Chromium the time from navigation to the first instance rows (median of 3 page loads).
 *
 *   --instances N (10000)  --change-rate F (0.01 per second)  --duration S (60)  --smoke
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { connectDashboard, instancesOfSnapshot } from './lib/dashboard-client.mjs';
import { startFleet } from './lib/loadgen.mjs';
import { cores, pinned, sleep, startBackend, stop, tempDir } from './lib/processes.mjs';
import {
  appendRow,
  loadConditions,
  loadNow,
  machine,
  markdownTable,
  pinning,
  printTable,
  stamp,
  today,
  writeLatest,
} from './lib/report.mjs';
import { fmt, median, summarize } from './lib/stats.mjs';

const DELIVERY_GOAL_MS = 1000;
const FIRST_ROWS_GOAL_MS = 1500;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const args = parseArgs();
const instances = args.number('instances', 10_000, 1_000);
const changeRate = args.number('change-rate', 0.01);
const durationS = args.number('duration', 60, 3);
const intervalMs = args.number('interval', 5_000, 1_000);
const pageLoads = args.number('page-loads', 3, 1);
// What the instances page asks for on load (apps/dashboard: windowOf(DEFAULT_FILTERS, 0, WINDOW_ROWS)).
const PAGE_VIEW = { window: { sort: 'service', offset: 0, limit: 250 }, watch: [] };
const load0 = loadNow();

console.log(`bench:dashboard  ${machine()}; ${pinning()}`);
console.log(
  `${instances} instances beating every ${intervalMs} ms, ${fmt(changeRate * 100)} % changing per second; measuring ${durationS} s`,
);

const backend = await startBackend({ probe: true });
const fleet = await startFleet({
  port: backend.port,
  instances,
  intervalMs,
  rampMs: intervalMs,
  connections: 200,
  changePerSecond: changeRate,
});
const t0 = Date.now();
fleet.start();
await Promise.race([fleet.registered, sleep(120_000)]);
console.log(`${instances} instances registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
await sleep(intervalMs);

// ---- one dashboard socket ----
const delivery = [];
const seen = new Set();
let deltas = 0;
const onDelta = (delta, at) => {
  deltas++;
  for (const instance of delta.upserts ?? []) {
    const changedAt = Number(instance.plugins?.find((p) => p.name === 'http-timing')?.extInfo?.changedAt ?? 0);
    const key = `${instance.instanceId}@${changedAt}`;
    if (changedAt > 0 && !seen.has(key)) {
      seen.add(key);
      delivery.push(at - changedAt);
    }
  }
};
const connectStarted = Date.now();
const client = await connectDashboard(backend.url, { view: PAGE_VIEW, onDelta });
const snapshotMs = client.snapshotAt - connectStarted;
const snapshotBytes = client.bytes;
const snapshotRows = instancesOfSnapshot(client.snapshot).length;
delivery.length = 0;
const bytes0 = client.bytes;
const deltas0 = deltas;
const m0 = Date.now();
const probeFrom = backend.probe.poll().length;
while (Date.now() - m0 < durationS * 1000) {
  await sleep(1000);
  const elapsed = (Date.now() - m0) / 1000;
  if (process.stdout.isTTY || Math.round(elapsed) % 10 === 0) {
    console.log(
      `[${elapsed.toFixed(0).padStart(4)} s] socket ${fmt((client.bytes - bytes0) / elapsed / 1024)} KiB/s, ${delivery.length} changes delivered, ` +
        `instances ${backend.probe.latest?.instances ?? '?'}`,
    );
  }
}
const seconds = (Date.now() - m0) / 1000;
const bytesPerS = (client.bytes - bytes0) / seconds;
const deltasPerS = (deltas - deltas0) / seconds;
const deliveryStats = summarize(delivery);
const probeSamples = backend.probe.poll().slice(probeFrom);
const backendCpu = median(probeSamples.map((s) => (100 * s.cpuMs) / s.periodMs));
const changesPerS = median(probeSamples.map((s) => (s.upserts * 1000) / s.periodMs));
client.close();

// ---- headless Chromium: navigation -> first rows ----
const firstRows = [];
const allRows = [];
let browserError;
try {
  const { chromium } = await import('playwright-core');
  let executablePath = CHROMIUM;
  if (pinned) {
    // Keep the browser off the backend's core.
    const dir = tempDir('chromium');
    executablePath = join(dir, 'chromium');
    writeFileSync(executablePath, `#!/bin/sh\nexec taskset -c ${cores.load} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
  try {
    for (let k = 0; k < (pageLoads > 1 ? pageLoads + 1 : 1); k++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const start = Date.now();
      await page.goto(backend.url, { waitUntil: 'commit' });
      await page.locator('[data-testid="instance-row"]').first().waitFor({ state: 'visible', timeout: 30_000 });
      const first = Date.now() - start;
      await page
        .waitForFunction(() => globalThis.document.querySelectorAll('[data-testid="instance-row"]').length >= 10, null, { timeout: 30_000 })
        .catch(() => {});
      const rows = await page.locator('[data-testid="instance-row"]').count();
      // The first load warms the browser's caches of the page's files; later loads are what a user reloading sees.
      if (k > 0 || pageLoads === 1) {
        firstRows.push(first);
        allRows.push(rows);
      }
      console.log(
        `page load ${k + 1}${k === 0 && pageLoads > 1 ? ' (warm-up)' : ''}: first rows after ${first} ms (${rows} rows rendered)`,
      );
      await context.close();
    }
  } finally {
    await browser.close();
  }
} catch (error) {
  browserError = error.message.split('\n')[0];
  console.log(`headless Chromium failed: ${browserError}`);
}
await fleet.stop();
await stop(backend.child);
const load1 = loadNow();
const firstRowsMs = median(firstRows);

const rows = [
  ['instances / changes per second (seen by the backend)', `${instances} / ${fmt(changesPerS, 0)}`, ''],
  ['dashboard socket view', JSON.stringify(PAGE_VIEW.window), ''],
  ['snapshot: rows, bytes, ms from connect', `${snapshotRows}, ${snapshotBytes}, ${fmt(snapshotMs, 0)}`, ''],
  ['bytes/s pushed to the socket (after the snapshot)', fmt(bytesPerS, 0), ''],
  ['deltas/s', fmt(deltasPerS), ''],
  ['changes delivered (in the view)', deliveryStats.count, ''],
  [
    'change -> socket delivery p50 / p99 / max ms',
    `${fmt(deliveryStats.p50)} / ${fmt(deliveryStats.p99)} / ${fmt(deliveryStats.max)}`,
    `p99 <= ${DELIVERY_GOAL_MS}`,
  ],
  ['Chromium: navigation -> first rows ms (median)', `${fmt(firstRowsMs, 0)} (${firstRows.join(', ')})`, `<= ${FIRST_ROWS_GOAL_MS}`],
  ['rows rendered', allRows.join(', '), ''],
  ['backend CPU % (median)', fmt(backendCpu, 0), ''],
];
console.log('');
printTable(['measure', 'value', 'goal'], rows);
console.log(loadConditions(load0, load1));
if (args.docs) {
  const cmd = 'npm run bench:dashboard';
  writeLatest(
    'dashboard',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `${instances} instances beating every ${intervalMs} ms, ${fmt(changeRate * 100)} % of them changing an ext-info value per second; one socket subscribed as the instances page does, ${durationS} s; Chromium ${CHROMIUM_FLAGS.join(' ')}, ${pageLoads} page loads after a warm-up load.`,
      '',
      markdownTable(['measure', 'value', 'goal'], rows),
    ].join('\n'),
  );
  appendRow(
    'bench:dashboard',
    ['date', 'command', 'machine', 'load', 'bytes/s', 'delivery p50 / p99 ms', 'first rows ms', 'goal'],
    [
      today(),
      `\`${cmd}\``,
      machine(),
      `${load0.toFixed(2)} -> ${load1.toFixed(2)}`,
      fmt(bytesPerS, 0),
      `${fmt(deliveryStats.p50)} / ${fmt(deliveryStats.p99)}`,
      fmt(firstRowsMs, 0),
      deliveryStats.p99 <= DELIVERY_GOAL_MS && firstRowsMs <= FIRST_ROWS_GOAL_MS ? 'met' : 'missed',
    ],
  );
}
console.log(`dashboard delivery p99: ${fmt(deliveryStats.p99, 0)} ms, first rows: ${fmt(firstRowsMs, 0)} ms`);
process.exit(browserError ? 1 : 0);
