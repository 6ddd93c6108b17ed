#!/usr/bin/env node
/**
 * npm run bench:agent: what the agent costs a service. A real node:http service
 * (bench/src/apps/service.mjs) under wrk load, without the agent, with the agent and no plugins,
 * and with the template plugin and an http interceptor plugin (bench/plugins/http-timing: hooks on
 * every request), beating to a real backend; and a realistic one (bench/src/apps/pg-service.mjs:
 * fastify, one PostgreSQL query per request) without and with the agent + http-timing.
 * Throughput and p99, the variants alternating in short runs; a loss is the median of the
 * per-round losses (adjacent runs), so drift of a shared machine cancels, with a bootstrap 95 %
 * interval of that median. Work counted as well (bench/src/lib/callgrind.mjs): instructions per
 * request of the hello-world service under callgrind, which a loaded machine does not blur. The
 * interceptor's cost per call (bench/src/intercept.mjs); start-up time (spawn -> listening -> exit)
 * and RSS after start, with and without the agent.
 *
 * Each measured run follows a short unmeasured one on the same process (--rewarm): a node process
 * that sat idle while the other variant was loaded may have had its bytecode flushed (V8 flushes
 * functions that did not run across a few GCs, and the agent's beats drive GCs while the service is
 * idle), and its first seconds back under load then run slower while V8 recompiles; see "After idle"
 * in docs/benchmarks.md. Both variants get the same re-warm-up.
 *
 *   --duration S (5 per wrk run)  --rewarm S (2)  --rounds N (7)  --pg-rounds N (5)  --starts N (10 start-up timings each)
 *   --cg-runs N (2 callgrind runs per variant; 0 skips)  --cg-requests N (5000, after as many unmeasured)  --smoke
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { analyzeProfile, latestProfile } from './lib/cpuprofile.mjs';
import {
  benchRoot,
  cores,
  monotonicUs,
  pinned,
  repoRoot,
  rssBytes,
  sleep,
  spawnNode,
  startBackend,
  stop,
  tempDir,
  waitForHttp,
} from './lib/processes.mjs';
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
import { callgrindInstalled, countInstructions, megamorphicCost, readSelfCosts } from './lib/callgrind.mjs';
import { fmt, median, medianCi, mib } from './lib/stats.mjs';
import { requireWrk, runWrk } from './lib/wrk.mjs';
import { INTERCEPTION_HEADERS, interceptionRows, measureInterception } from './intercept.mjs';

const GOALS = { noPluginsPct: 0.5, lossPct: 2, pgLossPct: 1, wrapperNs: 30, startupMs: 100, rssMb: 15 };
const args = parseArgs();
const durationS = args.number('duration', 5, 1);
const warmupS = args.number('warmup', 3, 1);
const rewarmS = args.number('rewarm', 2, 1);
const rounds = args.number('rounds', 7, 1);
const starts = args.number('starts', 10, 2);
const connections = args.number('connections', 64);
const pgRounds = args.number('pg-rounds', 5, 1);
const cgRuns = args.number('cg-runs', 2, 0);
const cgRequests = args.number('cg-requests', 5000, 300);
const serviceFile = fileURLToPath(new URL('./apps/service.mjs', import.meta.url));
const pgServiceFile = fileURLToPath(new URL('./apps/pg-service.mjs', import.meta.url));
const require = createRequire(import.meta.url);
const register = require.resolve('@vigil/agent/register');
const requireTimer = fileURLToPath(new URL('./lib/require-timer.cjs', import.meta.url));
const subj0 = 'with agent + 2 plugins';
const none = 'agent, no plugins';
/** The same without runtime metrics (metrics.enable=false): what the metrics sampler adds (issue 21). */
const noMetrics = 'agent, no plugins, no metrics';
requireWrk();
const load0 = loadNow();

// The agent's plugins: the template plugin (repo) and the http interceptor (bench), in one folder.
const pluginsDir = tempDir('plugins');
symlinkSync(join(repoRoot, 'plugins', 'template'), join(pluginsDir, 'template'));
symlinkSync(join(benchRoot, 'plugins', 'http-timing'), join(pluginsDir, 'http-timing'));
const cwd = tempDir('service');
mkdirSync(join(cwd, 'vigil'));

console.log(`bench:agent  ${machine()}; ${pinning()}`);
const backend = await startBackend({ core: cores.load });
const agentEnv = {
  VIGIL_BACKEND_URL: backend.url,
  VIGIL_PLUGINS_DIR: pluginsDir,
  VIGIL_PLUGINS: 'template,http-timing',
  VIGIL_SERVICE_NAME: 'bench-service',
};
// The two variants start-up, RSS and the profiles compare.
const variants = {
  'without agent': { nodeArgs: [], env: {} },
  'with agent + 2 plugins': { nodeArgs: ['--import', register], env: agentEnv },
};
// The hello-world variants of the throughput rounds and the instruction counts.
const helloVariants = {
  'without agent': variants['without agent'],
  [none]: { nodeArgs: ['--import', register], env: { ...agentEnv, VIGIL_PLUGINS: '' } },
  [noMetrics]: { nodeArgs: ['--import', register], env: { ...agentEnv, VIGIL_PLUGINS: '', VIGIL_METRICS_ENABLE: 'false' } },
  'with agent + 2 plugins': variants['with agent + 2 plugins'],
};
// The realistic service: the agent with the HTTP plugin only (the template plugin only says hello at listen).
const pgVariants = {
  'pg: without agent': { app: pgServiceFile, nodeArgs: [], env: {} },
  'pg: agent + http-timing': {
    app: pgServiceFile,
    nodeArgs: ['--import', register],
    env: { ...agentEnv, VIGIL_PLUGINS: 'http-timing', VIGIL_SERVICE_NAME: 'bench-pg-service' },
  },
};
const allVariants = { ...helloVariants, ...pgVariants };

async function startService(variant) {
  const { app = serviceFile, nodeArgs, env } = allVariants[variant];
  const child = spawnNode(cores.server, [...nodeArgs, app], { cwd, env: { ...process.env, PORT: '0', ...env } });
  const deadline = Date.now() + 15_000;
  let port;
  while (!port && Date.now() < deadline) {
    port = /listening (\d+)/.exec(child.output())?.[1];
    if (child.exitCode !== null) break;
    await sleep(20);
  }
  if (!port) throw new Error(`${variant}: the service did not listen:\n${child.output()}`);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/rss`, child);
  return { child, url, variant };
}

// ---- start-up time: spawn -> listening -> exit, alternating ----
const startupMs = { 'without agent': [], 'with agent + 2 plugins': [] };
for (let k = 0; k < starts + 1; k++) {
  for (const variant of k % 2 ? Object.keys(variants) : Object.keys(variants).reverse()) {
    const { nodeArgs, env } = variants[variant];
    const command = pinned ? 'taskset' : process.execPath;
    const argv = [...(pinned ? ['-c', String(cores.server), process.execPath] : []), ...nodeArgs, serviceFile];
    const t = performance.now();
    const result = spawnSync(command, argv, { cwd, env: { ...process.env, PORT: '0', EXIT_ON_LISTEN: '1', ...env }, encoding: 'utf8' });
    const ms = performance.now() - t;
    if (result.status !== 0 || !/listening/.test(result.stdout)) throw new Error(`${variant}: start-up run failed: ${result.stderr}`);
    if (k > 0) startupMs[variant].push(ms); // the first pair warms the file cache
  }
}

// ---- where the agent's start-up goes: CommonJS load times (bench/src/lib/require-timer.cjs) ----
const timesFile = join(cwd, 'require-times.json');
spawnSync(process.execPath, ['--require', requireTimer, ...variants[subj0].nodeArgs, serviceFile], {
  cwd,
  env: { ...process.env, PORT: '0', EXIT_ON_LISTEN: '1', VIGIL_BENCH_REQUIRE_TIMES: timesFile, ...variants[subj0].env },
});
const requireTimes = JSON.parse(readFileSync(timesFile, 'utf8'));
const baseTimesFile = join(cwd, 'require-times-base.json');
spawnSync(process.execPath, ['--require', requireTimer, serviceFile], {
  cwd,
  env: { ...process.env, PORT: '0', EXIT_ON_LISTEN: '1', VIGIL_BENCH_REQUIRE_TIMES: baseTimesFile },
});
const baseTimes = JSON.parse(readFileSync(baseTimesFile, 'utf8'));
const slowLoads = requireTimes.loads
  .filter((l) => l.ms >= 3)
  .sort((a, b) => b.ms - a.ms)
  .slice(0, 12)
  .map((l) => [
    `${'· '.repeat(l.depth)}${l.request.replace(repoRoot, '')}`,
    l.parent ? l.parent.replace(/^.*node_modules\//, '').replace(repoRoot, '') : '(preload)',
    fmt(l.ms, 1),
  ]);

// ---- RSS after start (and after the first beats), fresh processes ----
const rssStart = { 'without agent': [], 'with agent + 2 plugins': [] };
for (let k = 0; k < Math.min(3, starts); k++) {
  for (const variant of Object.keys(variants)) {
    const service = await startService(variant);
    await sleep(args.smoke ? 500 : 2000);
    rssStart[variant].push(rssBytes(service.child.pid));
    await stop(service.child);
  }
}

// ---- throughput under wrk, alternating ----
// Each round runs every variant once, in an order rotated per round; losses are per round.
async function throughputRounds(names, roundCount) {
  const services = {};
  for (const variant of names) services[variant] = await startService(variant);
  const wrk = (variant, seconds) =>
    runWrk({ url: `${services[variant].url}/`, durationS: seconds, connections, serverPid: services[variant].child.pid });
  for (const variant of names) await wrk(variant, warmupS);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < roundCount; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    if (round % 2) order.reverse();
    for (const variant of order) {
      await wrk(variant, rewarmS);
      const r = await wrk(variant, durationS);
      results[variant].push(r);
      console.log(
        `round ${round + 1}/${roundCount} ${variant.padEnd(24)} ${fmt(r.rps, 0).padStart(7)} req/s  service cpu ${fmt(r.serverCpuPct, 0)}%  ` +
          `${fmt(1e6 / r.perCpuS, 1)} CPU-us/req  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  errors ${r.errors}`,
      );
    }
  }
  return { services, results };
}
const { services, results } = await throughputRounds(Object.keys(helloVariants), rounds);
// Profiles: one more run of each variant under node --cpu-prof (only that run's samples counted).
const profiles = {};
if (!args.smoke && !args.has('no-profile')) {
  for (const variant of Object.keys(variants)) {
    const dir = tempDir('agent-prof');
    const { nodeArgs, env } = variants[variant];
    const child = spawnNode(cores.server, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...nodeArgs, serviceFile], {
      cwd,
      env: { ...process.env, PORT: '0', EXIT_ON_SIGTERM: '1', ...env },
    });
    let port;
    while (!port && child.exitCode === null) {
      port = /listening (\d+)/.exec(child.output())?.[1];
      await sleep(20);
    }
    const url = `http://127.0.0.1:${port}/`;
    await runWrk({ url, durationS: warmupS, connections });
    const fromUs = monotonicUs();
    const r = await runWrk({ url, durationS, connections, serverPid: child.pid });
    const toUs = monotonicUs();
    await stop(child);
    const p = analyzeProfile(latestProfile(dir), { top: 10, fromUs, toUs });
    profiles[variant] = { ...p, requests: r.requests };
  }
}
const rssAfterLoad = {};
for (const variant of Object.keys(variants)) rssAfterLoad[variant] = rssBytes(services[variant].child.pid);
// The agent's instance must be live in the backend, with both plugins.
const listed = await (await fetch(`${backend.url}/api/v1/instances?service=bench-service`)).json().catch(() => ({ instances: [] }));
const agentInstance = listed.instances?.find((i) => i.processId === services['with agent + 2 plugins'].child.pid);
for (const service of Object.values(services)) await stop(service.child);

// ---- the realistic service: fastify + PostgreSQL ----
let pg;
try {
  pg = await throughputRounds(Object.keys(pgVariants), pgRounds);
  for (const service of Object.values(pg.services)) await stop(service.child);
} catch (error) {
  console.log(`realistic service skipped: ${error.message.split('\n')[0]} (needs PostgreSQL on 127.0.0.1:5432, database test)`);
}
await stop(backend.child);

// ---- instructions per request under callgrind (hello-world service) ----
// Beats are time-driven, and time runs ~50x slower under valgrind, so these runs beat every 600 s:
// the first beat still goes out during the warm-up, none in the counted requests. The beats'
// own cost is in the wall-time rounds.
const counts = Object.fromEntries(Object.keys(helloVariants).map((n) => [n, []]));
const countsSkipped = cgRuns === 0 ? 'skipped (--cg-runs 0)' : !callgrindInstalled() ? 'skipped (valgrind not installed)' : undefined;
if (!countsSkipped) {
  const cgBackend = await startBackend({ core: cores.load });
  for (let run = 0; run < cgRuns; run++) {
    const names = Object.keys(helloVariants);
    for (const variant of run % 2 ? [...names].reverse() : names) {
      const { nodeArgs, env } = helloVariants[variant];
      const c = await countInstructions({
        nodeArgs,
        script: serviceFile,
        cwd,
        env: { ...env, ...(nodeArgs.length ? { VIGIL_BACKEND_URL: cgBackend.url, VIGIL_HEARTBEAT_INTERVAL: '600000' } : {}) },
        warmup: cgRequests,
        requests: cgRequests,
      });
      // The part in V8's megamorphic inline caches (bench/src/megamorphic.mjs): what the agent's own
      // traffic costs the host's request path shows there (docs/benchmarks.md, bench:agent).
      c.megamorphicPerRequest = megamorphicCost(readSelfCosts(c.mainFile)) / c.requests;
      counts[variant].push(c);
      console.log(
        `callgrind ${run + 1}/${cgRuns} ${variant.padEnd(24)} instructions/request: main thread ${fmt(c.mainPerRequest, 0)} ` +
          `(outside GC ${fmt(c.outsideGcPerRequest, 0)}, of it megamorphic ICs ${fmt(c.megamorphicPerRequest, 0)}; GC ${fmt(c.gcPerRequest, 0)}, ${c.scavenges} scavenge calls), other threads ${fmt(c.otherThreadsPerRequest, 0)}`,
      );
    }
  }
  await stop(cgBackend.child);
}

// ---- the interceptor per call ----
const interception = measureInterception({ rounds: args.smoke ? 1 : 5, calls: args.smoke ? 200_000 : 2_000_000 });
const load1 = loadNow();

// ---- figures ----
const base = 'without agent';
const subj = 'with agent + 2 plugins';
const rps = (v) => median(results[v].map((r) => r.rps));
const p99 = (v) => median(results[v].map((r) => r.p99));
// Per round (adjacent runs): the loss of requests per CPU-second of the service, i.e. its
// throughput on a whole core (other processes of the shared machine took part of the service's
// core in some runs); and the raw req/s loss.
const pairLoss = results[subj].map((r, i) => 100 * (1 - r.perCpuS / results[base][i].perCpuS));
const pairLossRaw = results[subj].map((r, i) => 100 * (1 - r.rps / results[base][i].rps));
const lossPct = median(pairLoss);
const lossRawPct = median(pairLossRaw);
const perCpu = (v) => median(results[v].map((r) => r.perCpuS));
const startupAdded = median(startupMs[subj]) - median(startupMs[base]);
const rssAdded = mib(median(rssStart[subj]) - median(rssStart[base]));
const headers = ['measure', 'without agent', 'with agent + template + http-timing', 'difference', 'goal'];
const rows = [
  [
    'throughput req/s (median; loss: median of per-round losses)',
    fmt(rps(base), 0),
    fmt(rps(subj), 0),
    `${lossRawPct >= 0 ? '-' : '+'}${fmt(Math.abs(lossRawPct), 2)} %`,
    '',
  ],
  [
    'req per CPU-second of the service (throughput on a whole core)',
    fmt(perCpu(base), 0),
    fmt(perCpu(subj), 0),
    `${lossPct >= 0 ? '-' : '+'}${fmt(Math.abs(lossPct), 2)} %`,
    `loss <= ${GOALS.lossPct} %`,
  ],
  [
    'service core share while loaded %',
    fmt(median(results[base].map((r) => r.serverCpuPct)), 0),
    fmt(median(results[subj].map((r) => r.serverCpuPct)), 0),
    '',
    '',
  ],
  ['p50 latency ms', fmt(median(results[base].map((r) => r.p50))), fmt(median(results[subj].map((r) => r.p50))), '', ''],
  ['p99 latency ms', fmt(p99(base)), fmt(p99(subj)), `x ${fmt(p99(subj) / p99(base), 2)}`, ''],
  [
    'start-up ms (spawn -> listening -> exit, median)',
    fmt(median(startupMs[base]), 0),
    fmt(median(startupMs[subj]), 0),
    `${startupAdded >= 0 ? '+' : ''}${fmt(startupAdded, 0)} ms`,
    `<= +${GOALS.startupMs} ms`,
  ],
  [
    'RSS after start MiB (median)',
    fmt(mib(median(rssStart[base])), 1),
    fmt(mib(median(rssStart[subj])), 1),
    `${rssAdded >= 0 ? '+' : ''}${fmt(rssAdded, 1)} MiB`,
    `<= +${GOALS.rssMb} MB`,
  ],
  [
    'RSS after the load MiB',
    fmt(mib(rssAfterLoad[base]), 1),
    fmt(mib(rssAfterLoad[subj]), 1),
    `+${fmt(mib(rssAfterLoad[subj] - rssAfterLoad[base]), 1)} MiB`,
    '',
  ],
];
console.log('');
printTable(headers, rows);

// ---- every figure of the issue's table, with its goal ----
const signed = (x, digits = 2) => `${x >= 0 ? '+' : '-'}${fmt(Math.abs(x), digits)}`;
/** Per-round loss of requests per service CPU-second of `subject` against `reference`, median and its 95 % interval. */
function lossOf(res, subject, reference) {
  const perRound = res[subject].map((r, i) => 100 * (1 - r.perCpuS / res[reference][i].perCpuS));
  const usPerReq = (v) => median(res[v].map((r) => 1e6 / r.perCpuS));
  return { perRound, median: median(perRound), ci: medianCi(perRound), us: [usPerReq(reference), usPerReq(subject)] };
}
const describeLoss = (l) =>
  `${fmt(l.median, 2)} % [${fmt(l.ci[0], 1)}, ${fmt(l.ci[1], 1)}]; CPU-us/req ${fmt(l.us[0], 1)} -> ${fmt(l.us[1], 1)}`;
const verdict = (value, goal) => (!Number.isFinite(value) ? 'n/a' : value <= goal ? 'met' : 'missed');
/** A loss's verdict; none when its 95 % interval is wider than NOISY_CI_POINTS (a machine too noisy to judge). */
const NOISY_CI_POINTS = 10;
const lossVerdict = (loss, goal) =>
  loss.ci[1] - loss.ci[0] > NOISY_CI_POINTS
    ? `unresolved (interval ${fmt(loss.ci[1] - loss.ci[0], 0)} points wide: too noisy)`
    : verdict(loss.median, goal);
const noPluginsLoss = lossOf(results, none, base);
const pluginsLoss = lossOf(results, subj, base);
const metricsLoss = lossOf(results, none, noMetrics);
const pgLoss = pg ? lossOf(pg.results, 'pg: agent + http-timing', 'pg: without agent') : undefined;
const countOf = (v, key) => median(counts[v].map((c) => c[key]));
const addedPct = (v, key) => 100 * (countOf(v, key) / countOf(base, key) - 1);
const countCell = (v, key) =>
  countsSkipped ? countsSkipped : `${fmt(countOf(base, key), 0)} -> ${fmt(countOf(v, key), 0)} (${signed(addedPct(v, key))} %)`;
// Runs of one variant spread by a few per cent (when V8's concurrent compiles land); a count within
// the spread of the runs without the agent is not a verdict either way.
const baseSpreadPct =
  counts[base].length > 1
    ? (100 * (Math.max(...counts[base].map((c) => c.outsideGcPerRequest)) - Math.min(...counts[base].map((c) => c.outsideGcPerRequest)))) /
      countOf(base, 'outsideGcPerRequest')
    : NaN;
const countsVerdict = countsSkipped
  ? 'n/a'
  : !(baseSpreadPct <= GOALS.noPluginsPct)
    ? `unresolved (runs without agent spread ${fmt(baseSpreadPct, 2)} %)`
    : verdict(addedPct(none, 'outsideGcPerRequest'), GOALS.noPluginsPct);
/**
 * The metrics' verdict: by counted work first (instructions per request with metrics on within the
 * spread of the runs with them off: the sampler runs once per beat, never per request), then by
 * throughput when its interval is narrow enough to judge.
 */
function metricsVerdict() {
  const parts = [];
  if (!countsSkipped) {
    const off = counts[noMetrics].map((c) => c.outsideGcPerRequest);
    const added = countOf(none, 'outsideGcPerRequest') - countOf(noMetrics, 'outsideGcPerRequest');
    const spread = Math.max(...off) - Math.min(...off);
    parts.push(added <= Math.max(spread, 0.005 * countOf(noMetrics, 'outsideGcPerRequest')) ? 'instructions: met' : 'instructions: missed');
  }
  const l = metricsLoss;
  if (l.ci[1] - l.ci[0] > NOISY_CI_POINTS) parts.push('throughput: unresolved (too noisy)');
  else parts.push(l.ci[0] <= 0 ? 'throughput: met (interval holds 0)' : 'throughput: missed');
  return parts.join('; ');
}
const wrapperNs = interception['Vigil, empty before/after'].sync - interception.unwrapped.sync;
const goalHeaders = ['figure', 'measured', 'goal', 'verdict'];
const goalRows = [
  [
    'hello-world, agent with no plugins: instructions/request, main thread outside GC (callgrind)',
    countCell(none, 'outsideGcPerRequest'),
    `<= +${GOALS.noPluginsPct} %`,
    countsVerdict,
  ],
  ['hello-world, agent with no plugins: instructions/request, all threads', countCell(none, 'allPerRequest'), '', ''],
  [
    'hello-world, agent with no plugins: throughput loss per service CPU-s [95 % CI]',
    describeLoss(noPluginsLoss),
    `<= ${GOALS.noPluginsPct} %`,
    lossVerdict(noPluginsLoss, GOALS.noPluginsPct),
  ],
  [
    'runtime metrics (agent, no plugins, metrics on vs off): throughput loss per service CPU-s [95 % CI]; instructions/request',
    `${describeLoss(metricsLoss)}; ${countsSkipped ?? `${fmt(countOf(noMetrics, 'outsideGcPerRequest'), 0)} -> ${fmt(countOf(none, 'outsideGcPerRequest'), 0)}`}`,
    'no added loss',
    metricsVerdict(),
  ],
  [
    'hello-world, template + http-timing: throughput loss per service CPU-s [95 % CI]',
    describeLoss(pluginsLoss),
    `<= ${GOALS.lossPct} %`,
    lossVerdict(pluginsLoss, GOALS.lossPct),
  ],
  ['hello-world, template + http-timing: instructions/request, main thread outside GC', countCell(subj, 'outsideGcPerRequest'), '', ''],
  [
    'fastify + PostgreSQL, agent + http-timing: throughput loss per service CPU-s [95 % CI]',
    pgLoss ? describeLoss(pgLoss) : 'skipped (no PostgreSQL)',
    `<= ${GOALS.pgLossPct} %`,
    pgLoss ? lossVerdict(pgLoss, GOALS.pgLossPct) : 'n/a',
  ],
  [
    'Vigil wrapper with empty before/after vs unwrapped call (sync, CPU ns)',
    `+${fmt(wrapperNs, 1)} ns`,
    `<= ${GOALS.wrapperNs} ns`,
    verdict(wrapperNs, GOALS.wrapperNs),
  ],
  [
    'start-up added / RSS added',
    `${signed(startupAdded, 0)} ms / ${signed(rssAdded, 1)} MiB`,
    `<= ${GOALS.startupMs} ms / <= ${GOALS.rssMb} MB`,
    startupAdded <= GOALS.startupMs && rssAdded <= GOALS.rssMb ? 'met' : 'missed',
  ],
];
console.log('\nThe interceptor per call (bench/src/intercept.mjs; CPU time, fresh process per variant, median of rounds):');
printTable(INTERCEPTION_HEADERS, interceptionRows(interception));
console.log('\nGoals:');
printTable(goalHeaders, goalRows);
console.log(
  `\nmodules loaded: ${baseTimes.modules} without the agent, ${requireTimes.modules} with it; slowest CommonJS loads at start (inclusive ms, one run, --require ${'bench/src/lib/require-timer.cjs'}):`,
);
printTable(['module', 'loaded by', 'ms'], slowLoads);
console.log(`per-round loss, req per service CPU-second: ${pairLoss.map((l) => `${fmt(l, 2)} %`).join(', ')}`);
console.log(`per-round loss, raw req/s: ${pairLossRaw.map((l) => `${fmt(l, 2)} %`).join(', ')}`);
console.log(
  `per-round loss of the agent without plugins, req per service CPU-second: ${noPluginsLoss.perRound.map((l) => `${fmt(l, 2)} %`).join(', ')}`,
);
if (pgLoss)
  console.log(
    `per-round loss of the fastify + PostgreSQL service, req per service CPU-second: ${pgLoss.perRound.map((l) => `${fmt(l, 2)} %`).join(', ')}`,
  );
const profileTables = [];
if (Object.keys(profiles).length) {
  const names = Object.keys(profiles);
  const components = [...new Set(names.flatMap((n) => profiles[n].components.map((c) => c.name)))];
  const usPerRequest = (n, c) =>
    ((profiles[n].components.find((x) => x.name === c)?.pct ?? 0) / 100) * ((profiles[n].busyMs * 1000) / profiles[n].requests);
  const compRows = components
    .map((c) => [c, ...names.map((n) => usPerRequest(n, c))])
    .sort((a, b) => b[2] - a[2])
    .filter(([, ...v]) => v.some((x) => x >= 0.1))
    .map(([c, ...v]) => [c, ...v.map((x) => fmt(x))]);
  compRows.push(['total CPU per request', ...names.map((n) => fmt((profiles[n].busyMs * 1000) / profiles[n].requests))]);
  console.log('\nCPU profiles of the service under load (node --cpu-prof, one more run each), CPU microseconds per request by component:');
  printTable(['component', ...names], compRows);
  const fns = profiles[subj].functions.map((f) => [f.name, f.component, `${fmt(f.pct, 1)} %`]);
  printTable(['hottest functions with the agent (self)', 'component', 'share'], fns);
  profileTables.push(
    'CPU profiles of the service under the same load (`node --cpu-prof`, one more run of each variant, only that run counted), CPU microseconds per request by component:\n\n' +
      markdownTable(['component', ...names], compRows) +
      '\n\nHottest functions with the agent (self time):\n\n' +
      markdownTable(['function', 'component', 'share of busy CPU'], fns),
  );
}
console.log(
  `agent instance in the backend: ${agentInstance ? `${agentInstance.status}, plugins ${agentInstance.plugins.map((p) => p.name).join(', ')}` : 'not found'}`,
);
console.log(loadConditions(load0, load1));
if (!agentInstance) console.log('warning: the backend does not list the agent-attached service');

if (args.docs) {
  const cmd = 'npm run bench:agent';
  writeLatest(
    'agent',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `wrk -t1 -c${connections} GET / for ${durationS} s after ${rewarmS} s unmeasured, ${rounds} rounds over the three hello-world variants and ${pgRounds} over the two fastify + PostgreSQL ones, alternating; ${starts} start-ups each; the agent beats every 5 s to a real backend on the load core. Instructions: ${cgRuns} callgrind run(s) per variant, ${cgRequests} requests counted after ${cgRequests} unmeasured, 8 keep-alive connections, beats every 600 s.`,
      '',
      markdownTable(goalHeaders, goalRows),
      '',
      'The interceptor per call (`node bench/src/intercept.mjs`: CPU time, a fresh process per variant, median of 5 rounds):',
      '',
      markdownTable(INTERCEPTION_HEADERS, interceptionRows(interception)),
      '',
      'Instructions per request under callgrind, each run (main thread outside GC / of it in megamorphic inline caches / GC / other threads; scavenge calls):',
      '',
      ...Object.entries(counts).map(
        ([v, cs]) =>
          `- ${v}: ${cs.map((c) => `${fmt(c.outsideGcPerRequest, 0)} / ${fmt(c.megamorphicPerRequest, 0)} / ${fmt(c.gcPerRequest, 0)} / ${fmt(c.otherThreadsPerRequest, 0)}; ${c.scavenges}`).join(' | ') || countsSkipped}`,
      ),
      '',
      `Per-round loss of the agent without plugins: ${noPluginsLoss.perRound.map((l) => `${fmt(l, 2)} %`).join(', ')}${pgLoss ? `; of the fastify + PostgreSQL service: ${pgLoss.perRound.map((l) => `${fmt(l, 2)} %`).join(', ')}` : ''}.`,
      '',
      markdownTable(headers, rows),
      '',
      `Per-round loss of requests per service CPU-second: ${pairLoss.map((l) => `${fmt(l, 2)} %`).join(', ')}; of raw req/s: ${pairLossRaw.map((l) => `${fmt(l, 2)} %`).join(', ')}. The headline uses the former: the service's throughput on a whole core, since other processes of the shared machine took part of its core in some runs.`,
      '',
      `Where the start-up goes: modules loaded ${baseTimes.modules} without the agent, ${requireTimes.modules} with it; the slowest CommonJS loads (inclusive ms, one start, \`--require bench/src/lib/require-timer.cjs\`):`,
      '',
      markdownTable(['module', 'loaded by', 'ms'], slowLoads),
      '',
      ...profileTables,
    ].join('\n'),
  );
  appendRow(
    'bench:agent',
    [
      'date',
      'command',
      'machine',
      'load',
      'req/s without / with',
      'loss % (per CPU-s; raw)',
      'p99 x',
      'start-up added ms',
      'RSS added MiB',
      'goals',
    ],
    [
      today(),
      `\`${cmd}\``,
      machine(),
      `${load0.toFixed(2)} -> ${load1.toFixed(2)}`,
      `${fmt(rps(base), 0)} / ${fmt(rps(subj), 0)}`,
      `${fmt(lossPct, 2)}; ${fmt(lossRawPct, 2)}`,
      fmt(p99(subj) / p99(base), 2),
      fmt(startupAdded, 0),
      fmt(rssAdded, 1),
      lossPct <= GOALS.lossPct && startupAdded <= GOALS.startupMs && rssAdded <= GOALS.rssMb ? 'met' : 'missed',
    ],
  );
}
console.log(`agent throughput loss: ${fmt(lossPct, 1)}% (goal <= ${GOALS.lossPct})`);
process.exit(0);
