#!/usr/bin/env node
/**
 * npm run bench:ingest: beats/s and p50/p99 latency of the real backend's beat paths (light and
 * full beats): the HTTP route, and the beat socket agents use by default, against a bare
 * node:http server doing the same work (same JSON.parse, same zod schema, the backend's own
 * InstanceRegistry, same reply), with the same load tool (wrk) for HTTP, and socket-load.mjs for
 * the socket (64 sockets, one beat in flight each, as agents beat), in the same run. Servers on core 0, wrk on core 1; runs alternate bare/backend; the ratio is the median of the
 * per-round ratios (adjacent runs), the beats/s the medians of the rounds.
 *
 *   --smoke                 one short round, no docs
 *   --duration S            seconds per wrk run (5)
 *   --rounds N              (7; short runs, finely alternated, cancel the drift of a shared machine)
 *   --instances N           instances registered before the runs, beats cycle through them (50000)
 *   --connections N         wrk connections (64, as in TOOLCHAIN.md)
 *   --no-profile            skip the CPU profiles of both servers
 *   --baseline DIR          also run another build of the backend (DIR: a worktree of another commit,
 *                           built), over HTTP and the beat socket, in the same rotation, and print
 *                           this build's beats per CPU-second relative to it (medians of the
 *                           per-round ratios); the extra reference servers are left out
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { beatRequest, fullBody, instanceId, lightBody } from './lib/beats.mjs';
import { analyzeProfile, latestProfile } from './lib/cpuprofile.mjs';
import { sendAll } from './lib/http-client.mjs';
import { monotonicUs, startBackend, startBare, stop, tempDir } from './lib/processes.mjs';
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
import { fmt, median } from './lib/stats.mjs';
import { runSocketLoad } from './lib/socket-runner.mjs';
import { beatsLua, requireWrk, runWrk } from './lib/wrk.mjs';

const GOAL = 0.8;
/** The long-lived connection's goal (the benchmarks issue): 1.5 x the bare HTTP server. */
const SOCKET_GOAL = 1.5;
/** The backend's beat socket, loaded by socket-load.mjs; a subject of the rotation, not a server of its own. */
const SOCKET = 'backend, beat socket';
const args = parseArgs();
const durationS = args.number('duration', 5, 1);
const warmupS = args.number('warmup', 3, 1);
const rounds = args.number('rounds', 7, 1);
// Enough instances that no one beats faster than the backend's rate limit allows (10/s without a
// configured interval): the load cycles through them, and 60k beats/s over 10k is 6/s each.
const instances = args.number('instances', 50_000, 10_000);
const connections = args.number('connections', 64);
const profile = !args.has('no-profile') && !args.smoke;
const baselineDir = args.string('baseline', '');
const extras = !args.smoke && !baselineDir;
/** The baseline build's HTTP route and beat socket (--baseline). */
const BASELINE = 'baseline backend';
const BASELINE_SOCKET = 'baseline, beat socket';
// No lease runs out during the bench: every run renews; no instance turns lost and back.
const LONG_LEASE = { lostAfterMs: 3_600_000, removeAfterMs: 7_200_000 };

requireWrk();
const load0 = loadNow();
const work = tempDir('ingest');
const RUN = Date.now() % 0xffffffff;
const ids = Array.from({ length: instances }, (_, i) => instanceId(RUN, i));
const now = Date.now();
const bodies = {
  full: ids.map((id, i) => fullBody(id, i, now, now - 5000)),
  light: ids.map((id) => lightBody(id, now, now - 5000)),
};
const files = {};
for (const kind of ['light', 'full']) {
  files[kind] = join(work, `${kind}.txt`);
  writeFileSync(files[kind], bodies[kind].join('\n') + '\n');
}
const avgBytes = (kind) => Math.round(bodies[kind].reduce((s, b) => s + b.length, 0) / bodies[kind].length);

console.log(`bench:ingest  ${machine()}; ${pinning()}`);
console.log(
  `${instances} instances registered per server; light beat ${avgBytes('light')} B, full beat ${avgBytes('full')} B; ` +
    `wrk -t1 -c${connections} -d${durationS}s, ${rounds} round(s), bare/backend alternating`,
);

async function register(server) {
  const answers = await sendAll({ host: '127.0.0.1', port: server.port, requests: bodies.full.map((b) => beatRequest(b)) });
  // The null server answers every beat alike.
  const bad = server.name.startsWith('null')
    ? answers.filter((a) => !a.startsWith('{'))
    : answers.filter((a) => !a.includes('"registered"'));
  if (bad.length) throw new Error(`${server.name}: ${bad.length} registrations failed, e.g. ${bad[0]}`);
}

async function check(server) {
  if (server.name.startsWith('null')) return;
  const answers = await sendAll({ host: '127.0.0.1', port: server.port, requests: [beatRequest(bodies.light[0])], connections: 1 });
  if (!answers[0].includes('"renewed"')) throw new Error(`${server.name} answered ${answers[0]} to a light beat after the runs`);
}

const servers = {
  bare: await startBare({
    flags: ['--lost-after-ms', String(LONG_LEASE.lostAfterMs), '--remove-after-ms', String(LONG_LEASE.removeAfterMs)],
  }),
  backend: await startBackend({
    env: { VIGIL_LOST_AFTER_MS: String(LONG_LEASE.lostAfterMs), VIGIL_REMOVE_AFTER_MS: String(LONG_LEASE.removeAfterMs) },
  }),
};
if (baselineDir) {
  servers[BASELINE] = await startBackend({
    main: join(baselineDir, 'apps', 'backend', 'dist', 'main.js'),
    root: baselineDir,
    env: { VIGIL_LOST_AFTER_MS: String(LONG_LEASE.lostAfterMs), VIGIL_REMOVE_AFTER_MS: String(LONG_LEASE.removeAfterMs) },
  });
}
if (extras) {
  servers['bare, no validation'] = await startBare({
    flags: ['--no-validate', '--lost-after-ms', String(LONG_LEASE.lostAfterMs), '--remove-after-ms', String(LONG_LEASE.removeAfterMs)],
  });
  servers['null (no work: load-tool ceiling)'] = await startBare({ flags: ['--mode', 'null'] });
}
for (const [name, server] of Object.entries(servers)) {
  server.name = name;
  await register(server);
}

const wrk = (server, kind, seconds) =>
  runWrk({
    url: `${server.url}/api/v1/heartbeat`,
    script: beatsLua,
    env: { BEAT_BODIES: files[kind] },
    durationS: seconds,
    connections,
    serverPid: server.child.pid,
  });

const socketLoad = (server, kind, seconds) =>
  runSocketLoad({
    url: `${server.url.replace('http', 'ws')}/api/v1/heartbeat/socket`,
    bodiesFile: files[kind],
    durationS: seconds,
    connections,
    serverPid: server.child.pid,
  });
const run = (name, kind, seconds) =>
  name === SOCKET
    ? socketLoad(servers.backend, kind, seconds)
    : name === BASELINE_SOCKET
      ? socketLoad(servers[BASELINE], kind, seconds)
      : wrk(servers[name], kind, seconds);

// Warm-up: JIT and connection set-up, not measured.
const rotation = [...Object.keys(servers), SOCKET, ...(baselineDir ? [BASELINE_SOCKET] : [])];
for (const name of rotation) for (const kind of ['light', 'full']) await run(name, kind, warmupS);

const results = {}; // results[subject][kind] = [run, ...]
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  for (const kind of ['light', 'full']) {
    // Alternate the order every round so drift in machine load hits both sides alike.
    const order = round % 2 === 0 ? rotation : [...rotation].reverse();
    for (const name of order) {
      const r = await run(name, kind, durationS);
      ((results[name] ??= {})[kind] ??= []).push(r);
      const elapsed = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
      console.log(
        `[${elapsed} s] round ${round + 1}/${rounds} ${kind.padEnd(5)} ${name.padEnd(20)} ${fmt(r.rps).padStart(7)} beats/s  ` +
          `server cpu ${fmt(r.serverCpuPct, 0)}%  ${fmt(r.perCpuS, 0)} beats/cpu-s  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  errors ${r.errors}  load cpu ${fmt(r.cpuPct, 0)}%`,
      );
    }
  }
}
for (const server of Object.values(servers)) await check(server).catch((e) => (server.checkError = e.message));

// Profiles: one more run per server and beat kind with --cpu-prof, after the measured runs.
const profiles = {};
if (profile) {
  for (const name of ['backend', 'bare']) await stop(servers[name].child);
  for (const kind of ['light', 'full']) {
    for (const name of ['backend', 'bare']) {
      const dir = join(work, `prof-${name}-${kind}`);
      mkdirSync(dir);
      const flags = ['--lost-after-ms', String(LONG_LEASE.lostAfterMs), '--remove-after-ms', String(LONG_LEASE.removeAfterMs)];
      const server =
        name === 'backend'
          ? await startBackend({
              cpuProf: dir,
              env: { VIGIL_LOST_AFTER_MS: String(LONG_LEASE.lostAfterMs), VIGIL_REMOVE_AFTER_MS: String(LONG_LEASE.removeAfterMs) },
            })
          : await startBare({ cpuProf: dir, flags });
      server.name = name;
      await register(server);
      await wrk(server, kind, Math.max(warmupS, 2));
      // Profiled from boot (node --cpu-prof); only the samples of this run are counted.
      const fromUs = monotonicUs();
      const r = await wrk(server, kind, durationS);
      const toUs = monotonicUs();
      await stop(server.child);
      const beats = r.requests;
      const file = latestProfile(dir);
      profiles[`${name} ${kind}`] = { ...analyzeProfile(file, { top: 10, fromUs, toUs }), rps: r.rps, beats };
    }
  }
}
for (const server of Object.values(servers)) await stop(server.child);

// ---- figures ----
const med = (name, kind, key) => median((results[name]?.[kind] ?? []).map((r) => r[key]));
// Ratio of adjacent runs (same round), then the median over rounds: drift of a shared machine cancels.
// Two ratios per round: raw beats/s, and beats per CPU-second of the server (its throughput on a
// whole core: other processes of the shared machine took part of the server core in some runs).
const pairRatiosOf = (kind, name, key = 'perCpuS', base = 'bare') =>
  (results[name]?.[kind] ?? []).map((r, i) => r[key] / results[base][kind][i][key]);
const ratio = (kind, name = 'backend', key = 'perCpuS') => median(pairRatiosOf(kind, name, key));
const pairRatios = (kind, key = 'perCpuS') => pairRatiosOf(kind, 'backend', key);
const rows = [];
for (const name of rotation) {
  for (const kind of ['light', 'full']) {
    const runs = results[name]?.[kind];
    if (!runs) continue;
    rows.push([
      name,
      kind,
      fmt(med(name, kind, 'rps'), 0),
      fmt(ratio(kind, name, 'rps'), 2),
      fmt(med(name, kind, 'serverCpuPct'), 0),
      fmt(med(name, kind, 'perCpuS'), 0),
      fmt(ratio(kind, name), 2),
      fmt(med(name, kind, 'p50')),
      fmt(med(name, kind, 'p99')),
      runs.reduce((s, r) => s + r.errors, 0),
      fmt(median(runs.map((r) => r.cpuPct)), 0),
    ]);
  }
}
const headers = [
  'server',
  'beat',
  'beats/s',
  'x bare',
  'server core %',
  'beats per server CPU-s',
  'x bare (CPU)',
  'p50 ms',
  'p99 ms',
  'errors',
  'load tool cpu %',
];
console.log('');
printTable(headers, rows);
const lightRatio = ratio('light');
const fullRatio = ratio('full');
const headline = Math.min(lightRatio, fullRatio);
const socketLight = ratio('light', SOCKET);
const socketFull = ratio('full', SOCKET);
const socketHeadline = Math.min(socketLight, socketFull);
const load1 = loadNow();
console.log('');
const perRound = (key) =>
  `light ${pairRatios('light', key)
    .map((r) => fmt(r, 2))
    .join(', ')}; full ${pairRatios('full', key)
    .map((r) => fmt(r, 2))
    .join(', ')}`;
console.log('medians over rounds; "x bare" columns are medians of the per-round ratios (adjacent runs)');
console.log(`per-round backend/bare ratios, beats/s: ${perRound('rps')}`);
console.log(`per-round backend/bare ratios, beats per server CPU-second: ${perRound('perCpuS')}`);
console.log(`raw beats/s ratio (light / full): ${fmt(ratio('light', 'backend', 'rps'), 2)} / ${fmt(ratio('full', 'backend', 'rps'), 2)}`);
if (baselineDir) {
  // This build against the baseline build, per CPU-second, route by route (medians of per-round ratios).
  const vs = (kind, name, base) => median(pairRatiosOf(kind, name, 'perCpuS', base));
  const line = (label, name, base) =>
    `${label} light ${fmt(vs('light', name, base), 3)} (rounds ${pairRatiosOf('light', name, 'perCpuS', base)
      .map((r) => fmt(r, 2))
      .join(', ')}), full ${fmt(vs('full', name, base), 3)} (rounds ${pairRatiosOf('full', name, 'perCpuS', base)
      .map((r) => fmt(r, 2))
      .join(', ')})`;
  console.log(`this build / baseline (${baselineDir}), beats per server CPU-second:`);
  console.log(line('  HTTP route:', 'backend', BASELINE));
  console.log(line('  beat socket:', SOCKET, BASELINE_SOCKET));
}
console.log(loadConditions(load0, load1));
for (const server of Object.values(servers)) if (server.checkError) console.log(`warning: ${server.checkError}`);

const profileTables = [];
if (Object.keys(profiles).length) {
  // CPU time per beat by component: where the backend spends what the bare server does not.
  const names = Object.keys(profiles);
  const components = [...new Set(names.flatMap((n) => profiles[n].components.map((c) => c.name)))];
  const usPerBeat = (n, component) => {
    const p = profiles[n];
    const share = p.components.find((c) => c.name === component)?.pct ?? 0;
    return (share / 100) * ((p.busyMs * 1000) / p.beats);
  };
  const totals = names.map((n) => (profiles[n].busyMs * 1000) / profiles[n].beats);
  const all = components.map((c) => [c, ...names.map((n) => usPerBeat(n, c))]).sort((a, b) => b[1] - a[1]);
  // Components under 0.3 us per beat everywhere are summed as "other".
  const shown = all.filter(([, ...v]) => v.some((x) => x >= 0.3));
  const rest = all.filter(([, ...v]) => !v.some((x) => x >= 0.3));
  if (rest.length) shown.push([`other (${rest.length} components)`, ...names.map((_, i) => rest.reduce((a, r) => a + r[i + 1], 0))]);
  const compRows = shown.map(([c, ...v]) => [c, ...v.map((x) => fmt(x))]);
  compRows.push(['total CPU per beat', ...totals.map((t) => fmt(t))]);
  const head = ['component (CPU us per beat)', ...names];
  console.log(
    '\nCPU profiles (node --cpu-prof, samples of one more measured run), CPU microseconds per beat by component (idle excluded):',
  );
  printTable(head, compRows);
  profileTables.push(
    'CPU profiles (`node --cpu-prof`; one more run per server and beat kind after the measured runs, only the samples of that run counted): CPU microseconds per beat by component, idle excluded.\n\n' +
      markdownTable(head, compRows),
  );
  for (const n of ['backend light', 'backend full']) {
    const fns = profiles[n].functions.map((f) => [f.name, f.component, `${fmt(f.pct, 1)} %`]);
    console.log(`\nhottest functions of the ${n} profile (self time):`);
    printTable(['function', 'component', 'share of busy CPU'], fns);
    profileTables.push(
      `Hottest functions, ${n} beats (self time):\n\n` + markdownTable(['function', 'component', 'share of busy CPU'], fns),
    );
  }
}

if (args.docs) {
  const cmd = 'npm run bench:ingest';
  writeLatest(
    'ingest',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `${instances} instances registered per server; wrk -t1 -c${connections}, ${durationS} s per run, ${rounds} rounds alternating bare/backend, medians.`,
      '',
      markdownTable(headers, rows),
      '',
      'Medians over rounds; the "x bare" columns are medians of per-round ratios (adjacent runs). "server core %" is the share of its core the server got while saturated (other processes of the shared machine took the rest); "beats per server CPU-s" is its throughput on a whole core, the basis of the headline ratio.',
      '',
      `Per-round backend/bare ratios, beats/s: ${perRound('rps')}.`,
      '',
      `Per-round backend/bare ratios, beats per server CPU-second: ${perRound('perCpuS')}.`,
      '',
      ...profileTables.flatMap((t) => [t, '']),
      `Beat socket: \`ingest beat socket vs bare node:http: ${fmt(socketHeadline, 2)} (goal >= ${SOCKET_GOAL})\`` +
        ` (beats per server CPU-second, light ${fmt(socketLight, 2)}, full ${fmt(socketFull, 2)}; socket-load.mjs, ${connections} sockets, one beat in flight each).`,
      '',
      `Headline: \`ingest ratio vs bare node:http: ${fmt(headline, 2)} (goal >= ${GOAL})\` (beats per server CPU-second, the lower of light ${fmt(lightRatio, 2)} and full ${fmt(fullRatio, 2)}; raw beats/s ratios ${fmt(ratio('light', 'backend', 'rps'), 2)} and ${fmt(ratio('full', 'backend', 'rps'), 2)}).`,
    ].join('\n'),
  );
  appendRow(
    'bench:ingest',
    [
      'date',
      'command',
      'machine',
      'load',
      'light backend / bare beats/s',
      'full backend / bare beats/s',
      'p99 light backend / bare ms',
      'ratio per CPU-s (goal >= 0.8)',
      'beat socket ratio per CPU-s (goal >= 1.5)',
    ],
    [
      today(),
      `\`${cmd}\``,
      machine(),
      `${load0.toFixed(2)} -> ${load1.toFixed(2)}`,
      `${fmt(med('backend', 'light', 'rps'), 0)} / ${fmt(med('bare', 'light', 'rps'), 0)} (${fmt(ratio('light', 'backend', 'rps'), 2)})`,
      `${fmt(med('backend', 'full', 'rps'), 0)} / ${fmt(med('bare', 'full', 'rps'), 0)} (${fmt(ratio('full', 'backend', 'rps'), 2)})`,
      `${fmt(med('backend', 'light', 'p99'))} / ${fmt(med('bare', 'light', 'p99'))}`,
      `${fmt(headline, 2)} ${headline >= GOAL ? 'met' : 'missed'}`,
      `${fmt(socketHeadline, 2)} ${socketHeadline >= SOCKET_GOAL ? 'met' : 'missed'}`,
    ],
  );
}
console.log(`ingest beat socket vs bare node:http: ${fmt(socketHeadline, 2)} (goal >= ${SOCKET_GOAL})`);
console.log(`ingest ratio vs bare node:http: ${fmt(headline, 2)} (goal >= ${GOAL})`);
process.exit(0);
