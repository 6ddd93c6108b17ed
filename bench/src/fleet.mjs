#!/usr/bin/env node
/**
 * npm run bench:fleet -- --instances N --duration SECONDS: N simulated agents (real protocol:
 * full beat first, light beats every 5 s +-10 %, full again on `unknown`) against one backend
 * process, for DURATION seconds after the fleet has started: sustained beats/s, CPU, RSS, bytes per
 * instance, event-loop lag, and false lost transitions (every agent keeps beating, so any `lost`
 * is false). Before that, the same load generator runs against a server that does no work and
 * against the bare node:http server, to show how much it can drive (it is not the bottleneck).
 *
 *   --instances N      (300000)        --duration S     (600)
 *   --interval MS      (5000)          --connections N  (1000 keep-alive connections, shared)
 *   --ramp S           (30: first beats spread over this)
 *   --transport T      (socket: the beat socket, as agents beat by default; http: PUT requests.
 *                      The reference servers speak HTTP only and are always driven over HTTP)
 *   --check S          (30: seconds measured against each reference server; 0 skips them)
 *   --profile S        (20; 2 in a smoke run; 0: none) CPU-profile the backend for S seconds in the
 *                      middle of the steady state (through the bench probe), summarised by
 *                      component and function per beat: where the time goes
 *   --node-args "..."  extra node flags for the backend (e.g. "--max-semi-space-size=64"), to try V8 settings
 *   --heap             at the end, a heap snapshot of the backend summarised by kind (memory per
 *                      instance by constructor; slow and memory-hungry above ~20k instances)
 *   --store S          (memory) or redis: the backend on the redis store, its keys under a
 *                      prefix of the run's own (deleted at the end); adds Redis's memory per
 *                      instance and CPU to the figures
 *   --redis-url URL    (redis://127.0.0.1:6379) the Redis of --store redis
 *   --mirror           with --store redis: a second replica (on the load core) that takes no
 *                      beats and only mirrors the fleet: its CPU and RSS are the cost of each
 *                      extra replica, and its statuses must match
 *   --no-metrics       beats without runtime metrics and health (agents send both by default: every
 *                      beat carries a metrics array, full beats a health report)
 *   --smoke            1000 instances, 1 s interval, a few seconds, no docs
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { summarizeHeap } from './lib/heapsnapshot.mjs';
import { analyzeProfile } from './lib/cpuprofile.mjs';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { startFleet } from './lib/loadgen.mjs';
import { cores, cpuTimeMs, sleep, startBackend, startBare, stop } from './lib/processes.mjs';
import {
  appendRow,
  imagesDir,
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
import { fmt, median, mib, percentile } from './lib/stats.mjs';
import { timeSeriesChart } from './lib/svg.mjs';

const args = parseArgs();
const instances = args.number('instances', 300_000, 1_000);
const durationS = args.number('duration', 600, 4);
const intervalMs = args.number('interval', 5_000, 1_000);
const connections = args.number('connections', 1_000, 100);
const rampS = args.number('ramp', 30, 1);
const checkS = args.number('check', 30, 1);
const transport = args.string('transport', 'socket');
const metrics = !args.has('no-metrics');
if (transport !== 'socket' && transport !== 'http') throw new Error(`--transport must be socket or http, not ${transport}`);
const store = args.string('store', 'memory');
if (store !== 'memory' && store !== 'redis') throw new Error(`--store must be memory or redis, got ${store}`);
const redisUrl = args.string('redis-url', 'redis://127.0.0.1:6379');
const withMirror = args.has('mirror');
const profileS = args.number('profile', 20, 2);
const nodeArgs = args.string('node-args', '').split(' ').filter(Boolean);
if (withMirror && store !== 'redis') throw new Error('--mirror needs --store redis');
const RSS_GOAL = 1024; // MiB
const GOAL_INSTANCES = 300_000;
const target = instances / (intervalMs / 1000);
const load0 = loadNow();

console.log(`bench:fleet  ${machine()}; ${pinning()}`);
console.log(
  `${instances} instances, beat every ${intervalMs} ms +-10 %, over ${connections} ${transport === 'socket' ? 'beat sockets' : 'keep-alive HTTP connections'} (pipelined when beats coincide), ` +
    `first beats spread over ${rampS} s; target ${fmt(target, 0)} beats/s; measured for ${durationS} s; ${store} store; ${metrics ? 'metrics in every beat' : 'no metrics'}`,
);

/** Redis's own figures for --store redis: bytes in use and CPU seconds (user + sys) so far. */
async function redisFigures(redis) {
  const info = await redis.info();
  const field = (name) => Number(info.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1] ?? NaN);
  return { usedMemory: field('used_memory'), cpuS: field('used_cpu_user') + field('used_cpu_sys'), at: performance.now() };
}

/**
 * Runs the fleet against one server: starts it, waits `seconds` of steady load after the fleet
 * registered (or the ramp plus one interval passed), returns per-second samples.
 */
async function runAgainst(server, seconds, label, atEnd = async () => {}, over = 'http', midSteady = async () => {}) {
  const fleet = await startFleet({ port: server.port, instances, connections, intervalMs, rampMs: rampS * 1000, transport: over, metrics });
  const samples = [];
  const started = performance.now();
  const t0 = Date.now();
  let registeredAt;
  const serverCpu0 = cpuTimeMs(server.child.pid);
  fleet.registered.then((at) => (registeredAt = at));
  const off = fleet.onStats((s) => {
    const p = server.probe?.latest;
    const sample = {
      t: (s.t - t0) / 1000,
      beats: s.answered / (s.periodMs / 1000),
      registered: s.registered,
      latP50: s.latP50,
      latP99: s.latP99,
      gapMax: s.gapMax,
      queued: s.queued,
      errors: s.errors,
      unknown: s.unknown,
      loadCpu: s.cpuPct,
      loadRss: s.rss,
      rss: p?.rss,
      heapUsed: p?.heapUsed,
      cpu: p ? (100 * p.cpuMs) / p.periodMs : NaN,
      lagP99: p?.lagP99,
      lagMax: p?.lagMax,
      lost: p?.lost ?? 0,
      suspect: p?.suspect ?? 0,
      // Beats applied: plain renewals plus upserts, less the upserts that were timed transitions.
      serverBeats: p ? ((p.beats + p.upserts - p.lost - p.suspect) * 1000) / p.periodMs : NaN,
      probeT: p?.t,
    };
    samples.push(sample);
    const elapsed = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    if (process.stdout.isTTY || samples.length % 10 === 0 || args.smoke) {
      console.log(
        `[${elapsed} s] ${label.padEnd(8)} beats/s ${fmt(sample.beats, 0).padStart(6)}  registered ${String(sample.registered).padStart(7)}/${instances}  ` +
          `rss ${fmt(mib(sample.rss ?? NaN), 0)} MiB  cpu ${fmt(sample.cpu, 0)}%  lag p99 ${fmt(sample.lagP99)} ms  ` +
          `beat p99 ${fmt(sample.latP99)} ms  lost ${sample.lost}  load cpu ${fmt(sample.loadCpu, 0)}%`,
      );
    }
  });
  fleet.start();
  // Steady state starts once every instance is registered and one more interval has passed.
  const steadyFrom = () => (registeredAt ? (registeredAt - t0) / 1000 : rampS) + intervalMs / 1000;
  const deadline = performance.now() + (rampS + intervalMs / 1000) * 1000 + 120_000;
  while (!registeredAt && performance.now() < deadline) await sleep(250);
  const steadyStart = steadyFrom();
  while ((Date.now() - t0) / 1000 < steadyStart + seconds / 2 - profileS / 2) await sleep(250);
  const mid = await midSteady();
  while ((Date.now() - t0) / 1000 < steadyStart + seconds) await sleep(250);
  const summary = await fleet.summary();
  const endAt = Date.now();
  const end = await atEnd();
  const serverCpuMs = cpuTimeMs(server.child.pid) - serverCpu0;
  off();
  await fleet.stop();
  // Samples taken after the end (e.g. while a heap snapshot inflates RSS) are left out.
  return {
    samples: samples.filter((x) => !x.probeT || x.probeT <= endAt),
    steadyStart,
    registeredS: registeredAt ? (registeredAt - t0) / 1000 : NaN,
    summary,
    serverCpuMs,
    t0,
    end,
    mid,
  };
}

/** Asks the probe to CPU-profile the server for `seconds` and summarises it per beat applied. */
async function profileWindow(server, seconds) {
  const file = server.probe.file;
  const from = Date.now();
  writeFileSync(`${file}.prof`, String(seconds * 1000));
  while (!existsSync(`${file}.prof.done`)) await sleep(250);
  const to = Date.now();
  await server.probe.next();
  // Beats applied in the window (renewals and upserts, less timed transitions), from the probe's lines.
  const lines = server.probe.poll().filter((p) => p.t > from + 500 && p.t <= to + 500);
  const rate = lines.reduce((a, p) => a + p.beats + p.upserts - p.lost - p.suspect, 0) / lines.reduce((a, p) => a + p.periodMs / 1000, 0);
  const summary = analyzeProfile(`${file}.cpuprofile`, { top: 12, trimUs: 250_000 });
  rmSync(`${file}.cpuprofile`, { force: true });
  // The beats of the analysed part of the window (the profile less its trimmed ends).
  const beats = Math.round((rate * (summary.busyMs + summary.idleMs)) / 1000);
  return { ...summary, beats, seconds };
}

/** Asks the probe for a heap snapshot of the server and summarises it. */
async function heapSnapshot(server) {
  const file = server.probe.file;
  writeFileSync(`${file}.heap`, '');
  while (!existsSync(`${file}.heap.done`)) await sleep(500);
  const summary = summarizeHeap(`${file}.heapsnapshot`);
  rmSync(`${file}.heapsnapshot`, { force: true });
  return summary;
}

const steadyOf = (run) => run.samples.filter((s) => s.t >= run.steadyStart);
const reference = [];

if (checkS > 0) {
  for (const [name, flags] of [
    ['null server (no work)', ['--mode', 'null']],
    ['bare node:http', []],
  ]) {
    const server = await startBare({ probe: true, flags });
    const run = await runAgainst(server, checkS, name.split(' ')[0]);
    await stop(server.child);
    const steady = steadyOf(run);
    reference.push({
      name,
      beats: median(steady.map((s) => s.beats)),
      cpu: median(steady.map((s) => s.cpu)),
      loadCpu: median(steady.map((s) => s.loadCpu)),
      latP99: median(steady.map((s) => s.latP99)),
      lost: run.samples.reduce((a, s) => a + s.lost, 0),
      rssMax: Math.max(0, ...run.samples.map((s) => s.rss ?? 0)),
    });
  }
}

// The subject: the real backend, with the bench probe preloaded (RSS, CPU, lag, transitions).
const prefix = `vigil-bench-${randomUUID()}`;
const redis = store === 'redis' ? new Redis(redisUrl) : undefined;
const redis0 = redis && (await redisFigures(redis));
const storeEnv = store === 'redis' ? { VIGIL_STORE: 'redis', VIGIL_REDIS_URL: redisUrl, VIGIL_REDIS_PREFIX: prefix } : {};
const backend = await startBackend({ probe: true, env: storeEnv, nodeArgs });
const base = (await backend.probe.next()).at(-1);
const mirror = withMirror ? await startBackend({ probe: true, env: storeEnv, core: cores.load }) : undefined;
const mirrorStart = mirror && { cpuMs: cpuTimeMs(mirror.child.pid), at: performance.now(), rss: (await mirror.probe.next()).at(-1)?.rss };
let heap;
const run = await runAgainst(
  backend,
  durationS,
  'backend',
  async () => {
    const last = (await backend.probe.next()).at(-1);
    let counts;
    try {
      const response = await fetch(`${backend.url}/api/v1/instances/counts`);
      if (response.ok) counts = await response.json();
    } catch {
      // older backends have no counts endpoint
    }
    const redisEnd = redis && (await redisFigures(redis));
    const mirrorEnd = mirror && {
      cpuMs: cpuTimeMs(mirror.child.pid),
      at: performance.now(),
      rss: (await mirror.probe.next()).at(-1)?.rss,
      counts: await (await fetch(`${mirror.url}/api/v1/instances/counts`)).json(),
    };
    // Last: the snapshot itself costs memory (RSS after it is not counted).
    if (args.has('heap')) heap = await heapSnapshot(backend);
    return { last, counts, redisEnd, mirrorEnd };
  },
  transport,
  async () => (profileS > 0 ? profileWindow(backend, profileS) : undefined),
);
const { last: final, counts, redisEnd, mirrorEnd } = run.end;
await stop(backend.child);
if (mirror) await stop(mirror.child);
if (redis) {
  // The run's own keys only: this Redis may be shared.
  const keys = await redis.keys(`{${prefix}}:*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
}
const load1 = loadNow();

// ---- figures ----
const steady = steadyOf(run);
const all = run.samples;
const falseLost = all.reduce((a, s) => a + s.lost, 0);
const falseSuspect = all.reduce((a, s) => a + s.suspect, 0);
const beatsPerS = median(steady.map((s) => s.beats));
const rssMax = Math.max(...all.map((s) => s.rss ?? 0), final?.rss ?? 0);
const rssEnd = final?.rss ?? NaN;
const perInstance = (rssEnd - (base?.rss ?? NaN)) / instances;
const heapPerInstance = ((final?.heapUsed ?? NaN) - (base?.heapUsed ?? NaN)) / instances;
const cpu = median(steady.map((s) => s.cpu));
const lagP99 = percentile(steady.map((s) => s.lagP99 ?? NaN).filter(Number.isFinite), 99);
const lagMax = Math.max(0, ...steady.map((s) => s.lagMax ?? 0));
const unknown = run.summary.unknown;
const errors = run.summary.errors;
const met = instances >= GOAL_INSTANCES && falseLost === 0 && mib(rssMax) <= RSS_GOAL && beatsPerS >= 0.97 * target;

const rows = [
  ['instances', instances, `${GOAL_INSTANCES} on one process`],
  ['registered after (s)', fmt(run.registeredS, 1), ''],
  ['sustained beats/s (median of steady seconds)', fmt(beatsPerS, 0), `${fmt(target, 0)} (N / interval)`],
  ['beats/s applied by the backend (median)', fmt(median(steady.map((s) => s.serverBeats)), 0), ''],
  ['backend CPU % of one core (median)', fmt(cpu, 0), ''],
  ['RSS max / end (MiB)', `${fmt(mib(rssMax), 0)} / ${fmt(mib(rssEnd), 0)}`, `<= ${RSS_GOAL}`],
  ['bytes per instance (RSS / heap growth)', `${fmt(perInstance, 0)} / ${fmt(heapPerInstance, 0)}`, ''],
  ['event-loop lag p99 / max (ms)', `${fmt(lagP99)} / ${fmt(lagMax)}`, ''],
  [
    'beat latency p50 / p99 (ms, median of seconds)',
    `${fmt(median(steady.map((s) => s.latP50)))} / ${fmt(median(steady.map((s) => s.latP99)))}`,
    '',
  ],
  ['longest gap between two renewals of one instance (s)', fmt(run.summary.gapMax / 1000, 1), `< lost timeout 15`],
  ['false lost / suspect transitions', `${falseLost} / ${falseSuspect}`, '0'],
  ['unknown answers / errors', `${unknown} / ${errors}`, '0'],
  ['load generator CPU % (median)', fmt(median(steady.map((s) => s.loadCpu)), 0), '< 100 (not the bottleneck)'],
];
if (counts) rows.push(['statuses at the end', JSON.stringify(counts.byStatus ?? counts), '']);
if (redis0 && redisEnd) {
  rows.push(
    ['Redis memory growth per instance (B)', fmt((redisEnd.usedMemory - redis0.usedMemory) / instances, 0), ''],
    ['Redis CPU % of one core (mean over the run)', fmt((100 * (redisEnd.cpuS - redis0.cpuS)) / ((redisEnd.at - redis0.at) / 1000), 0), ''],
  );
}
if (mirrorStart && mirrorEnd) {
  rows.push(
    [
      'mirror replica CPU % of one core (mean over the run)',
      fmt((100 * (mirrorEnd.cpuMs - mirrorStart.cpuMs)) / (mirrorEnd.at - mirrorStart.at), 0),
      '',
    ],
    [
      'mirror replica RSS end (MiB) / growth per instance (B)',
      `${fmt(mib(mirrorEnd.rss ?? NaN), 0)} / ${fmt(((mirrorEnd.rss ?? NaN) - (mirrorStart.rss ?? NaN)) / instances, 0)}`,
      '',
    ],
    ['mirror replica statuses at the end', JSON.stringify(mirrorEnd.counts.byStatus ?? mirrorEnd.counts), 'as the backend'],
  );
}
console.log('');
printTable(['backend, steady state', 'value', 'goal / reference'], rows);
if (reference.length) {
  console.log('\nthe same load generator against reference servers (same N, interval, connections):');
  printTable(
    ['server', 'beats/s', 'server cpu %', 'load generator cpu %', 'beat p99 ms', 'lost', 'RSS max MiB'],
    reference.map((r) => [r.name, fmt(r.beats, 0), fmt(r.cpu, 0), fmt(r.loadCpu, 0), fmt(r.latP99), r.lost, fmt(mib(r.rssMax), 0)]),
  );
}
console.log(loadConditions(load0, load1));
const heapRows = heap ? heap.kinds.map((k) => [k.kind, fmt(mib(k.bytes), 1), k.count, fmt(k.bytes / instances, 0)]) : [];
if (heap) {
  console.log(
    `\nheap snapshot of the backend at the end: ${fmt(mib(heap.totalBytes), 0)} MiB in use, ${fmt(heap.totalBytes / instances, 0)} B per instance; by kind (self size):`,
  );
  printTable(['kind', 'MiB', 'count', 'B per instance'], heapRows);
}

const profiled = run.mid;
const perBeatUs = (pct) => (profiled.busyMs * 1000 * pct) / 100 / profiled.beats;
const profileRows = profiled ? profiled.components.map((c) => [c.name, fmt(perBeatUs(c.pct), 2), fmt(c.pct, 1)]) : [];
const functionRows = profiled ? profiled.functions.map((f) => [f.name, f.component, fmt(f.pct, 1)]) : [];
const profileHead = profiled
  ? `CPU profile of the backend, ${profiled.seconds} s in the middle of the steady state (V8's sampling profiler via the bench probe): ` +
    `${fmt(profiled.busyMs, 0)} ms busy, ${profiled.beats} beats applied, ${fmt((profiled.busyMs * 1000) / profiled.beats, 1)} us of main-thread CPU per beat`
  : '';
if (profiled) {
  console.log(`\n${profileHead}; by component:`);
  printTable(['component', 'CPU us per beat', '% of busy'], profileRows);
  printTable(['hottest function (self time)', 'component', '% of busy'], functionRows);
}

if (args.docs) {
  mkdirSync(imagesDir, { recursive: true });
  const x = (s) => s.t;
  const svg = timeSeriesChart({
    title: `bench:fleet: ${instances} instances every ${intervalMs / 1000} s on one backend process, ${store} store (${today()})`,
    xLabel: 'seconds since the fleet started',
    panels: [
      {
        label: 'beats/s',
        series: [{ name: 'answered beats/s', points: all.map((s) => [x(s), s.beats]) }],
        goal: { y: target, label: `target ${fmt(target, 0)}` },
      },
      {
        label: 'RSS (MiB)',
        series: [{ name: 'backend RSS', points: all.map((s) => [x(s), mib(s.rss ?? NaN)]) }],
        goal: { y: RSS_GOAL, label: '1 GiB goal' },
      },
      {
        label: 'event-loop lag (ms)',
        series: [
          { name: 'p99 per second', points: all.map((s) => [x(s), s.lagP99]) },
          { name: 'max per second', points: all.map((s) => [x(s), s.lagMax]) },
        ],
      },
      { label: 'backend CPU (%)', series: [{ name: 'CPU, % of a core', points: all.map((s) => [x(s), s.cpu]) }] },
    ],
  });
  const image = store === 'redis' ? 'fleet-redis.svg' : 'fleet.svg';
  writeFileSync(join(imagesDir, image), svg);
  const cmd = `npm run bench:fleet -- --instances ${instances} --duration ${durationS}${nodeArgs.length ? ` --node-args "${nodeArgs.join(' ')}"` : ''}${transport === 'http' ? ' --transport http' : ''}${store === 'redis' ? ' --store redis' : ''}${withMirror ? ' --mirror' : ''}${metrics ? '' : ' --no-metrics'}`;
  writeLatest(
    store === 'redis' ? 'fleet-redis' : 'fleet',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `${instances} instances, beat every ${intervalMs} ms +-10 %, ${connections} shared ${transport === 'socket' ? 'beat sockets' : 'keep-alive HTTP connections'}, first beats spread over ${rampS} s; ${store} store; ${metrics ? 'metrics in every beat, health in full beats' : 'no metrics'}.`,
      '',
      markdownTable(['backend, steady state', 'value', 'goal / reference'], rows),
      '',
      ...(reference.length
        ? [
            `The same load generator, same N, interval and connections, ${checkS} s each against reference servers:`,
            '',
            markdownTable(
              ['server', 'beats/s', 'server cpu %', 'load generator cpu %', 'beat p99 ms', 'lost', 'RSS max MiB'],
              reference.map((r) => [
                r.name,
                fmt(r.beats, 0),
                fmt(r.cpu, 0),
                fmt(r.loadCpu, 0),
                fmt(r.latP99),
                r.lost,
                fmt(mib(r.rssMax), 0),
              ]),
            ),
            '',
          ]
        : []),
      ...(profiled
        ? [
            `${profileHead}:`,
            '',
            markdownTable(['component', 'CPU us per beat', '% of busy'], profileRows),
            '',
            markdownTable(['hottest function (self time)', 'component', '% of busy'], functionRows),
            '',
          ]
        : []),
      ...(heap
        ? [
            `Heap snapshot of the backend at the end: ${fmt(mib(heap.totalBytes), 0)} MiB in use, ${fmt(heap.totalBytes / instances, 0)} B per instance; by kind (self size):`,
            '',
            markdownTable(['kind', 'MiB', 'count', 'B per instance'], heapRows),
            '',
          ]
        : []),
      `![bench:fleet: beats/s, RSS, event-loop lag and CPU over time](images/${image})`,
    ].join('\n'),
  );
  appendRow(
    'bench:fleet',
    ['date', 'command', 'machine', 'load', 'beats/s (target)', 'false lost', 'RSS max MiB', 'B/instance', 'CPU %', 'lag p99 ms', 'goal'],
    [
      today(),
      `\`${cmd}\``,
      machine(),
      `${load0.toFixed(2)} -> ${load1.toFixed(2)}`,
      `${fmt(beatsPerS, 0)} (${fmt(target, 0)})`,
      falseLost,
      fmt(mib(rssMax), 0),
      fmt(perInstance, 0),
      fmt(cpu, 0),
      fmt(lagP99),
      met ? 'met' : 'missed',
    ],
  );
}
console.log(
  `fleet ${instances} instances${store === 'redis' ? ' on redis' : ''}: false lost ${falseLost}, rss ${fmt(mib(rssMax), 0)} MiB, beats/s ${fmt(beatsPerS, 0)}`,
);
process.exit(0);
