#!/usr/bin/env node
/**
 * Where the CPU time per request of bench:agent's hello-world service goes, with and without the
 * agent (docs/benchmarks.md, bench:agent, "Where the no-plugin loss lies"). bench:agent's headline
 * is requests per CPU-second of the whole service process (every thread, user and kernel time);
 * its callgrind counts cover the main thread's user-space instructions only. This splits the
 * process's CPU time so the part the counts do not see is named:
 *
 * - per thread, from /proc/<pid>/task/<tid>/stat (user and kernel time) and .../comm (the thread's
 *   name: `node` main thread, `V8 DefaultWorke` V8's compiler and GC helpers, `libuv-worker`, a
 *   loader hook's worker...), and its context switches (.../status);
 * - the process's minor page faults (/proc/<pid>/stat);
 * - V8's GC pauses on the main thread, from `--trace-gc` lines printed during the window;
 * - with --strace, the system calls per request by name (`strace -f -c` attached to the service for
 *   one extra run of each variant; strace slows the service, the counts stay exact).
 *
 * - with --counted, work counted rather than timed (a loaded machine does not blur it): each variant
 *   once under callgrind with its cache simulation and system-call collection
 *   (bench/src/lib/callgrind.mjs), per request: instructions, simulated first-level and last-level
 *   cache misses, and system calls, for the main thread and the other threads.
 *
 * Variants alternate round by round, each a fresh process warmed with wrk first; every figure is
 * per request, the median over rounds with its 95 % interval.
 *
 *   node bench/src/overhead-sources.mjs [--rounds 7] [--duration 5] [--warmup 3] [--connections 64]
 *                                       [--variants none,agent] [--strace] [--counted [--cg-requests 5000]] [--smoke]
 * Variants: none (no agent), agent (agent, no plugins; beats every 5 s to a real backend),
 * plugins (agent + template + http-timing), beats-off (agent, no plugins, heartbeats off),
 * metrics-off (agent, no plugins, runtime metrics off).
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { callgrindInstalled, countInstructions } from './lib/callgrind.mjs';
import { benchRoot, cores, repoRoot, sleep, spawnNode, spawnPinned, startBackend, stop, tempDir, waitForHttp } from './lib/processes.mjs';
import { loadNow, machine, pinning } from './lib/report.mjs';
import { fmt, median, medianCi } from './lib/stats.mjs';
import { requireWrk, runWrk } from './lib/wrk.mjs';

const args = parseArgs();
const rounds = args.number('rounds', 7, 1);
const durationS = args.number('duration', 5, 1);
const warmupS = args.number('warmup', 3, 1);
const connections = args.number('connections', 64);
const withStrace = args.bool('strace', false);
const counted = args.bool('counted', false);
const cgRequests = args.number('cg-requests', 5000, 500);
const require = createRequire(import.meta.url);
const register = require.resolve('@vigil/agent/register');
const serviceFile = fileURLToPath(new URL('./apps/service.mjs', import.meta.url));
requireWrk();

const pluginsDir = tempDir('plugins');
symlinkSync(join(repoRoot, 'plugins', 'template'), join(pluginsDir, 'template'));
symlinkSync(join(benchRoot, 'plugins', 'http-timing'), join(pluginsDir, 'http-timing'));
const cwd = tempDir('service');
mkdirSync(join(cwd, 'vigil'));
const backend = await startBackend({ core: cores.load });
const agentEnv = { VIGIL_BACKEND_URL: backend.url, VIGIL_PLUGINS_DIR: pluginsDir, VIGIL_PLUGINS: '', VIGIL_SERVICE_NAME: 'bench-service' };
const ALL = {
  none: { nodeArgs: [], env: {} },
  agent: { nodeArgs: ['--import', register], env: agentEnv },
  plugins: { nodeArgs: ['--import', register], env: { ...agentEnv, VIGIL_PLUGINS: 'template,http-timing' } },
  'beats-off': { nodeArgs: ['--import', register], env: { ...agentEnv, VIGIL_AGENT_SERVICE_HEARTBEAT_ENABLE: 'false' } },
  'metrics-off': { nodeArgs: ['--import', register], env: { ...agentEnv, VIGIL_METRICS_ENABLE: 'false' } },
};
const names = args.string('variants', 'none,agent').split(',');
for (const n of names) if (!ALL[n]) throw new Error(`--variants: unknown ${n}; one of ${Object.keys(ALL).join(', ')}`);

/** Per thread: name, user and kernel ticks, context switches; and the process's minor faults. */
function snapshot(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const ctx =
        Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
      const name = tid === String(pid) ? 'main thread' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      threads.set(tid, { name, user: Number(fields[11]), sys: Number(fields[12]), ctx });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const minflt = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  return { threads, minflt };
}

/** The difference of two snapshots, by thread name (threads of one name summed), per request. */
function perRequest(before, after, requests) {
  const figures = {};
  const add = (key, value) => (figures[key] = (figures[key] ?? 0) + value);
  for (const [tid, t] of after.threads) {
    const b = before.threads.get(tid) ?? { user: 0, sys: 0, ctx: 0 };
    const group = t.name === 'main thread' ? 'main thread' : t.name.replace(/\d+$/, '').trim() || 'other';
    // Ticks are 10 ms (USER_HZ 100): us per request.
    add(`${group} user us`, ((t.user - b.user) * 10_000) / requests);
    add(`${group} kernel us`, ((t.sys - b.sys) * 10_000) / requests);
    add('context switches', (t.ctx - b.ctx) / requests);
  }
  add('minor page faults', (after.minflt - before.minflt) / requests);
  return figures;
}

/** GC pauses (ms) and collections in `--trace-gc` lines: `... ms: Scavenge 4.1 (5.0) -> 3.2 (6.0) MB, 0.52 / 0.00 ms ...`. */
function gcOf(text) {
  let ms = 0;
  let scavenges = 0;
  let marks = 0;
  for (const line of text.split('\n')) {
    const m = /ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Sweep)[^,]*, ([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (!m) continue;
    ms += Number(m[2]);
    if (m[1] === 'Scavenge' || m[1] === 'Minor Mark-Sweep') scavenges++;
    else marks++;
  }
  return { ms, scavenges, marks };
}

async function startService(name, extraArgs = []) {
  const { nodeArgs, env } = ALL[name];
  const child = spawnNode(cores.server, ['--trace-gc', ...extraArgs, ...nodeArgs, serviceFile], {
    cwd,
    env: { ...process.env, PORT: '0', ...env },
  });
  let port;
  const deadline = Date.now() + 15_000;
  while (!port && child.exitCode === null && Date.now() < deadline) {
    port = /listening (\d+)/.exec(child.output())?.[1];
    await sleep(20);
  }
  if (!port) throw new Error(`${name}: the service did not listen:\n${child.output()}`);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/rss`, child);
  return { child, url };
}

console.log(`overhead-sources  ${machine()}; ${pinning()}; load ${loadNow()}`);
const results = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? [...names].reverse() : names;
  for (const name of order) {
    const service = await startService(name);
    await runWrk({ url: `${service.url}/`, durationS: warmupS, connections });
    const gcFrom = service.child.output().length;
    const before = snapshot(service.child.pid);
    const r = await runWrk({ url: `${service.url}/`, durationS, connections, serverPid: service.child.pid });
    const after = snapshot(service.child.pid);
    const gc = gcOf(service.child.output().slice(gcFrom));
    await stop(service.child);
    const figures = perRequest(before, after, r.requests);
    figures['CPU us (all threads)'] = 1e6 / r.perCpuS;
    figures['GC pause us'] = (gc.ms * 1000) / r.requests;
    figures['scavenges per 10k'] = (gc.scavenges * 10_000) / r.requests;
    figures['mark-compacts per 100k'] = (gc.marks * 100_000) / r.requests;
    figures['req/s'] = r.rps;
    results[name].push(figures);
    console.log(
      `round ${round + 1}/${rounds} ${name.padEnd(10)} ${fmt(r.rps, 0)} req/s, ${fmt(figures['CPU us (all threads)'], 2)} CPU-us/req: ` +
        Object.entries(figures)
          .filter(([k, v]) => /us$/.test(k) && k !== 'CPU us (all threads)' && v > 0)
          .map(([k, v]) => `${k} ${fmt(v, 2)}`)
          .join(', '),
    );
  }
}

// System calls per request, one strace'd run per variant.
const syscalls = {};
if (withStrace) {
  for (const name of names) {
    const service = await startService(name);
    await runWrk({ url: `${service.url}/`, durationS: warmupS, connections });
    const traced = spawnPinned(cores.load, 'strace', ['-f', '-c', '-p', String(service.child.pid)]);
    await sleep(1000);
    const r = await runWrk({ url: `${service.url}/`, durationS, connections });
    traced.kill('SIGINT');
    await traced.done;
    await stop(service.child);
    const calls = {};
    for (const line of traced.output().split('\n')) {
      const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
      if (m && m[2] !== 'total') calls[m[2]] = Number(m[1]) / r.requests;
    }
    syscalls[name] = calls;
  }
}
// Work counted under callgrind: instructions, simulated cache misses and system calls per request.
const work = {};
if (counted) {
  if (!callgrindInstalled()) throw new Error('--counted needs valgrind (callgrind)');
  for (const name of names) {
    const { nodeArgs, env } = ALL[name];
    const c = await countInstructions({
      nodeArgs,
      script: serviceFile,
      cwd,
      // Beats every 600 s: time runs ~50x slower under valgrind; the first beat goes out in the warm-up.
      env: { ...env, ...(nodeArgs.length ? { VIGIL_HEARTBEAT_INTERVAL: '600000' } : {}) },
      warmup: cgRequests,
      requests: cgRequests,
      valgrindArgs: ['--cache-sim=yes', '--collect-systime=nsec'],
    });
    const per = (events) => {
      const e = (k) => (events[k] ?? 0) / c.requests;
      return {
        instructions: e('Ir'),
        'L1 misses': e('I1mr') + e('D1mr') + e('D1mw'),
        'last-level misses': e('ILmr') + e('DLmr') + e('DLmw'),
        'system calls': e('sysCount'),
        'system call us': e('sysTime') / 1000,
      };
    };
    work[name] = { main: per(c.events), others: per(c.otherEvents), scavenges: c.scavenges };
    console.log(`counted ${name}: main ${JSON.stringify(work[name].main)}, others ${JSON.stringify(work[name].others)}`);
  }
}
await stop(backend.child);

const keys = [...new Set(names.flatMap((n) => results[n].flatMap((f) => Object.keys(f))))].sort((a, b) =>
  a === 'CPU us (all threads)' ? -1 : b === 'CPU us (all threads)' ? 1 : a.localeCompare(b),
);
const cell = (name, key) => {
  const values = results[name].map((f) => f[key] ?? 0);
  const [low, high] = medianCi(values);
  return `${fmt(median(values), 3)} [${fmt(low, 3)}, ${fmt(high, 3)}]`;
};
console.log(`\nper request, median of ${rounds} rounds [95 % interval]; load ${loadNow()}`);
console.log(['figure', ...names].join(' | '));
for (const key of keys) console.log([key, ...names.map((n) => cell(n, key))].join(' | '));
if (counted) {
  console.log(`\nwork counted per request under callgrind (${cgRequests} requests after as many unmeasured; cache simulated by valgrind)`);
  console.log(['figure', ...names].join(' | '));
  for (const thread of ['main', 'others']) {
    for (const key of Object.keys(work[names[0]][thread])) {
      console.log(
        [`${thread === 'main' ? 'main thread' : 'other threads'} ${key}`, ...names.map((n) => fmt(work[n][thread][key], 2))].join(' | '),
      );
    }
  }
  console.log(['scavenges in the counted requests', ...names.map((n) => work[n].scavenges)].join(' | '));
}
if (withStrace) {
  console.log('\nsystem calls per request (strace -f -c, one run each)');
  const calls = [...new Set(names.flatMap((n) => Object.keys(syscalls[n])))].sort(
    (a, b) => (syscalls[names[0]][b] ?? 0) - (syscalls[names[0]][a] ?? 0),
  );
  console.log(['call', ...names].join(' | '));
  for (const call of calls) console.log([call, ...names.map((n) => fmt(syscalls[n][call] ?? 0, 4))].join(' | '));
}
