// What the agent's runtime metrics and health cost, measured on this machine: `node
// scripts/metrics-cost.mjs` after the build. Per beat: one sample() and one health collect();
// besides beats: the GC observer (per GC) and the event-loop delay histogram's timer (per 20 ms).
// Prints µs per call (median of 7 runs) and the background costs; nothing here runs in a test.
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

const require = createRequire(import.meta.url);
const { RuntimeMetrics, DELAY_RESOLUTION_MS } = require('../dist/metrics/runtime-metrics.js');
const { AgentHealthService } = require('../dist/services/agent-health-service.js');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** µs per call of fn, median of 7 runs of `calls` calls, after a warm-up. */
function microseconds(fn, calls = 2000) {
  for (let i = 0; i < 200; i += 1) fn();
  const runs = [];
  for (let run = 0; run < 7; run += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i += 1) fn();
    runs.push(Number(process.hrtime.bigint() - start) / 1000 / calls);
  }
  return median(runs).toFixed(2);
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const metrics = new RuntimeMetrics();
const health = new AgentHealthService();
for (const name of ['db', 'queue', 'cache']) health.setIndicator(name, () => ({ status: 'up', details: { host: `${name}.internal` } }));

const rows = [
  ['sample(), whole (every figure)', microseconds(() => metrics.sample())],
  ['  process.memoryUsage.rss()', microseconds(() => process.memoryUsage.rss())],
  ['  process.memoryUsage() (not used: heap fields without the limit)', microseconds(() => process.memoryUsage())],
  ['  v8.getHeapStatistics()', microseconds(() => getHeapStatistics())],
  ['  process.cpuUsage()', microseconds(() => process.cpuUsage())],
  ['  process.getActiveResourcesInfo().length, idle process', microseconds(() => process.getActiveResourcesInfo().length)],
];
const timers = Array.from({ length: 1000 }, () => setInterval(() => undefined, 60_000));
rows.push(['  process.getActiveResourcesInfo().length, 1000 timers', microseconds(() => process.getActiveResourcesInfo().length, 200)]);
for (const timer of timers) clearInterval(timer);
rows.push(['health collect(), 3 synchronous indicators', microseconds(() => health.collect())]);
for (const [what, us] of rows) console.log(`${us.padStart(8)} µs  ${what}`);

// GC observer: the same allocation-heavy loop with and without it (ms, median of 5).
function churn() {
  const start = process.hrtime.bigint();
  let kept = [];
  for (let i = 0; i < 3_000_000; i += 1) {
    kept.push({ i });
    if (kept.length > 10_000) kept = [];
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const churnMs = () => median(Array.from({ length: 5 }, churn));
metrics.stop();
const without = churnMs();
const observer = new PerformanceObserver(() => undefined);
observer.observe({ entryTypes: ['gc'] });
const withObserver = churnMs();
observer.disconnect();
console.log(
  `GC observer: allocation loop ${without.toFixed(1)} ms without, ${withObserver.toFixed(1)} ms with (${(((withObserver - without) / without) * 100).toFixed(1)} %)`,
);

// The delay histogram's timer wakes an idle process every DELAY_RESOLUTION_MS: CPU over 3 s idle.
async function idleCpuMs() {
  const before = process.cpuUsage();
  await pause(3000);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}
const idleWithout = await idleCpuMs();
const histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
histogram.enable();
const idleWith = await idleCpuMs();
histogram.disable();
console.log(
  `delay histogram (${DELAY_RESOLUTION_MS} ms): idle CPU ${idleWithout.toFixed(1)} ms without, ${idleWith.toFixed(1)} ms with, per 3 s`,
);
