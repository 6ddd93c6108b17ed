/**
 * Bench instrumentation preloaded into a server under test (`node --import <this file> main.js`),
 * so the backend's own code stays untouched. Every VIGIL_BENCH_PROBE_MS (1000 ms) it appends one
 * JSON line to the file named by VIGIL_BENCH_PROBE with:
 *
 * - memory (rss, heap) and CPU time used since the previous line;
 * - event-loop lag: how late a 10 ms timer fires (p50 / p99 / max of the period, ms);
 * - what the InstanceRegistry reported in the period (beats, upserts, lost, removed) and its size;
 * - for each transition to `lost`: Date.now() at the transition minus the record's statusSince
 *   (= the lease deadline), i.e. the deadline -> status-change lag inside the backend.
 *
 * When the bench creates `<VIGIL_BENCH_PROBE>.heap`, it writes a heap snapshot to
 * `<VIGIL_BENCH_PROBE>.heapsnapshot` (then `.heap.done`): where the memory goes. When it creates
 * `<VIGIL_BENCH_PROBE>.prof` holding a number of milliseconds, it CPU-profiles the process for that
 * long (V8's sampling profiler through `node:inspector`, as `--cpu-prof` does, but for a window
 * only) into `<VIGIL_BENCH_PROBE>.cpuprofile` (then `.prof.done`): where the time goes.
 *
 * The registry is observed through its public `onChange` API: the first time anything subscribes
 * (the realtime gateway at boot), the probe subscribes too. Cost: one extra listener call per change.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import { createHistogram } from 'node:perf_hooks';
import { InstanceRegistry } from '@vigil/backend/instance-registry';

const file = process.env.VIGIL_BENCH_PROBE;
const periodMs = Number(process.env.VIGIL_BENCH_PROBE_MS ?? 1000);
const LAG_TIMER_MS = 10;

if (file) {
  writeFileSync(file, '');
  const lag = createHistogram();
  let expected = performance.now() + LAG_TIMER_MS;
  const lagTimer = () => {
    const now = performance.now();
    lag.record(Math.max(1, Math.round((now - expected) * 1000)));
    expected = now + LAG_TIMER_MS;
    setTimeout(lagTimer, LAG_TIMER_MS).unref();
  };
  setTimeout(lagTimer, LAG_TIMER_MS).unref();

  const counts = { beats: 0, upserts: 0, lost: 0, suspect: 0, healthy: 0, removed: 0 };
  let lostLags = [];
  const registries = new Set();
  const listener = (change) => {
    if (change.type === 'beat') counts.beats++;
    else if (change.type === 'removed') counts.removed++;
    else {
      counts.upserts++;
      if (change.instance.status === 'lost') {
        counts.lost++;
        lostLags.push(Date.now() - change.instance.statusSince);
      } else if (change.instance.status === 'suspect') {
        counts.suspect++;
      } else if (change.instance.status === 'healthy') {
        counts.healthy++;
      }
    }
  };
  const attach = (registry) => {
    if (registries.has(registry)) return;
    registries.add(registry);
    original.call(registry, listener);
  };
  const original = InstanceRegistry.prototype.onChange;
  InstanceRegistry.prototype.onChange = function onChange(fn) {
    attach(this);
    return original.call(this, fn);
  };
  // A bench server that subscribes nothing can still ask to be observed.
  globalThis[Symbol.for('vigil.bench.probe')] = { attach };

  let cpu = process.cpuUsage();
  let elu = performance.eventLoopUtilization();
  let last = performance.now();
  const write = () => {
    const now = performance.now();
    const cpuNow = process.cpuUsage();
    const eluNow = performance.eventLoopUtilization();
    const mem = process.memoryUsage();
    let instances = 0;
    for (const registry of registries) instances += registry.size;
    const line = {
      t: Date.now(),
      periodMs: now - last,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      cpuMs: (cpuNow.user - cpu.user + cpuNow.system - cpu.system) / 1000,
      elu: performance.eventLoopUtilization(eluNow, elu).utilization,
      lagP50: lag.count ? lag.percentile(50) / 1000 : 0,
      lagP99: lag.count ? lag.percentile(99) / 1000 : 0,
      lagMax: lag.count ? lag.max / 1000 : 0,
      instances,
      ...counts,
      lostLags,
    };
    appendFileSync(file, JSON.stringify(line) + '\n');
    cpu = cpuNow;
    elu = eluNow;
    last = now;
    lag.reset();
    for (const key of Object.keys(counts)) counts[key] = 0;
    lostLags = [];
  };
  // No signal to ask for a line: Nest's shutdown hooks treat SIGUSR2 (like SIGTERM) as a stop.
  setInterval(write, periodMs).unref();
  setInterval(() => {
    if (!existsSync(`${file}.heap`)) return;
    rmSync(`${file}.heap`);
    writeHeapSnapshot(`${file}.heapsnapshot`);
    writeFileSync(`${file}.heap.done`, '');
  }, 200).unref();
  let profiling = false;
  setInterval(() => {
    if (profiling || !existsSync(`${file}.prof`)) return;
    const ms = Number(readFileSync(`${file}.prof`, 'utf8')) || 10_000;
    rmSync(`${file}.prof`);
    profiling = true;
    const session = new Session();
    session.connect();
    session.post('Profiler.enable', () =>
      session.post('Profiler.start', () =>
        setTimeout(() => {
          session.post('Profiler.stop', (error, result) => {
            writeFileSync(`${file}.cpuprofile`, error ? '{}' : JSON.stringify(result.profile));
            session.disconnect();
            profiling = false;
            writeFileSync(`${file}.prof.done`, '');
          });
        }, ms),
      ),
    );
  }, 200).unref();
}
