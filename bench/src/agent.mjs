#!/usr/bin/env node
/**
 * npm run bench:agent: what the agent costs a service. A real node:http service
 * (bench/src/apps/service.mjs) under wrk load, without and with the agent attached
 * (`--import @vigil/agent/register`) with the template plugin and an http interceptor plugin
 * (bench/plugins/http-timing: a hook on every request), beating to a real backend.
 * Throughput and p99 of both, alternating in short runs; the loss is the median of the per-round
 * losses (adjacent runs), so drift of a shared machine cancels; start-up time (spawn -> listening -> exit)
 * and RSS after start, with and without the agent.
 *
 * Each measured run follows a short unmeasured one on the same process (--rewarm): a node process
 * that sat idle while the other variant was loaded may have had its bytecode flushed (V8 flushes
 * functions that did not run across a few GCs, and the agent's beats drive GCs while the service is
 * idle), and its first seconds back under load then run slower while V8 recompiles; see "After idle"
 * in docs/benchmarks.md. Both variants get the same re-warm-up.
 *
 *   --duration S (5 per wrk run)  --rewarm S (2)  --rounds N (7)  --starts N (10 start-up timings each)  --smoke
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
import { fmt, median, mib } from './lib/stats.mjs';
import { requireWrk, runWrk } from './lib/wrk.mjs';

const GOALS = { lossPct: 2, startupMs: 100, rssMb: 15 };
const args = parseArgs();
const durationS = args.number('duration', 5, 1);
const warmupS = args.number('warmup', 3, 1);
const rewarmS = args.number('rewarm', 2, 1);
const rounds = args.number('rounds', 7, 1);
const starts = args.number('starts', 10, 2);
const connections = args.number('connections', 64);
const serviceFile = fileURLToPath(new URL('./apps/service.mjs', import.meta.url));
const require = createRequire(import.meta.url);
const register = require.resolve('@vigil/agent/register');
const requireTimer = fileURLToPath(new URL('./lib/require-timer.cjs', import.meta.url));
const subj0 = 'with agent + 2 plugins';
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
const variants = {
  'without agent': { nodeArgs: [], env: {} },
  'with agent + 2 plugins': { nodeArgs: ['--import', register], env: agentEnv },
};

async function startService(variant) {
  const { nodeArgs, env } = variants[variant];
  const child = spawnNode(cores.server, [...nodeArgs, serviceFile], { cwd, env: { ...process.env, PORT: '0', ...env } });
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
  .map((l) => [`${'· '.repeat(l.depth)}${l.request.replace(repoRoot, '')}`, l.parent ? l.parent.replace(/^.*node_modules\//, '').replace(repoRoot, '') : '(preload)', fmt(l.ms, 1)]);

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
const services = {};
for (const variant of Object.keys(variants)) services[variant] = await startService(variant);
const wrk = (variant, seconds) => runWrk({ url: `${services[variant].url}/`, durationS: seconds, connections, serverPid: services[variant].child.pid });
for (const variant of Object.keys(variants)) await wrk(variant, warmupS);
const results = { 'without agent': [], 'with agent + 2 plugins': [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? Object.keys(variants) : Object.keys(variants).reverse();
  for (const variant of order) {
    await wrk(variant, rewarmS);
    const r = await wrk(variant, durationS);
    results[variant].push(r);
    console.log(
      `round ${round + 1}/${rounds} ${variant.padEnd(24)} ${fmt(r.rps, 0).padStart(7)} req/s  service cpu ${fmt(r.serverCpuPct, 0)}%  ` +
        `${fmt(r.perCpuS, 0)} req/cpu-s  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  errors ${r.errors}`,
    );
  }
}
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
await stop(backend.child);
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
  ['throughput req/s (median; loss: median of per-round losses)', fmt(rps(base), 0), fmt(rps(subj), 0), `${lossRawPct >= 0 ? '-' : '+'}${fmt(Math.abs(lossRawPct), 2)} %`, ''],
  ['req per CPU-second of the service (throughput on a whole core)', fmt(perCpu(base), 0), fmt(perCpu(subj), 0), `${lossPct >= 0 ? '-' : '+'}${fmt(Math.abs(lossPct), 2)} %`, `loss <= ${GOALS.lossPct} %`],
  ['service core share while loaded %', fmt(median(results[base].map((r) => r.serverCpuPct)), 0), fmt(median(results[subj].map((r) => r.serverCpuPct)), 0), '', ''],
  ['p50 latency ms', fmt(median(results[base].map((r) => r.p50))), fmt(median(results[subj].map((r) => r.p50))), '', ''],
  ['p99 latency ms', fmt(p99(base)), fmt(p99(subj)), `x ${fmt(p99(subj) / p99(base), 2)}`, ''],
  ['start-up ms (spawn -> listening -> exit, median)', fmt(median(startupMs[base]), 0), fmt(median(startupMs[subj]), 0), `${startupAdded >= 0 ? '+' : ''}${fmt(startupAdded, 0)} ms`, `<= +${GOALS.startupMs} ms`],
  ['RSS after start MiB (median)', fmt(mib(median(rssStart[base])), 1), fmt(mib(median(rssStart[subj])), 1), `${rssAdded >= 0 ? '+' : ''}${fmt(rssAdded, 1)} MiB`, `<= +${GOALS.rssMb} MB`],
  ['RSS after the load MiB', fmt(mib(rssAfterLoad[base]), 1), fmt(mib(rssAfterLoad[subj]), 1), `+${fmt(mib(rssAfterLoad[subj] - rssAfterLoad[base]), 1)} MiB`, ''],
];
console.log('');
printTable(headers, rows);
console.log(`\nmodules loaded: ${baseTimes.modules} without the agent, ${requireTimes.modules} with it; slowest CommonJS loads at start (inclusive ms, one run, --require ${'bench/src/lib/require-timer.cjs'}):`);
printTable(['module', 'loaded by', 'ms'], slowLoads);
console.log(`per-round loss, req per service CPU-second: ${pairLoss.map((l) => `${fmt(l, 2)} %`).join(', ')}`);
console.log(`per-round loss, raw req/s: ${pairLossRaw.map((l) => `${fmt(l, 2)} %`).join(', ')}`);
const profileTables = [];
if (Object.keys(profiles).length) {
  const names = Object.keys(profiles);
  const components = [...new Set(names.flatMap((n) => profiles[n].components.map((c) => c.name)))];
  const usPerRequest = (n, c) => ((profiles[n].components.find((x) => x.name === c)?.pct ?? 0) / 100) * ((profiles[n].busyMs * 1000) / profiles[n].requests);
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
console.log(`agent instance in the backend: ${agentInstance ? `${agentInstance.status}, plugins ${agentInstance.plugins.map((p) => p.name).join(', ')}` : 'not found'}`);
console.log(loadConditions(load0, load1));
if (!agentInstance) console.log('warning: the backend does not list the agent-attached service');

if (args.docs) {
  const cmd = 'npm run bench:agent';
  writeLatest(
    'agent',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `wrk -t1 -c${connections} GET / for ${durationS} s after ${rewarmS} s unmeasured, ${rounds} rounds alternating; ${starts} start-ups each; the agent beats every 5 s to a real backend on the load core.`,
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
    ['date', 'command', 'machine', 'load', 'req/s without / with', 'loss % (per CPU-s; raw)', 'p99 x', 'start-up added ms', 'RSS added MiB', 'goals'],
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
