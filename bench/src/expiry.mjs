#!/usr/bin/env node
/**
 * npm run bench:expiry: 10k instances stop beating; for each, the delay from its lease deadline
 * (lastHeartbeatTime + lost timeout, which the backend stamps as the lost record's statusSince)
 * to the moment the `lost` transition is seen:
 *
 *   1. in the backend: when the registry makes the transition (bench probe, Date.now() - statusSince);
 *   2. by a dashboard socket: when a socket.io `delta` carrying the instance as `lost` arrives at a
 *      client in another process (sockets subscribed with `watch` lists covering a sample of the
 *      stopping instances), and via the `instance.lost` events every delta carries (their
 *      `deadline` attribute).
 *
 * Two scenarios, each with its own 10k instances, in a fleet of 40k (so the stopping share stays
 * under the default 50 % self-preservation threshold and the backend expires them on time):
 * "spread": they stop at one moment, so their deadlines spread over one interval (a zone dies);
 * "burst": each sends one last beat at the same moment, so 10k deadlines fall within ~1 s.
 *
 * Then the same against the bare prototype server (bench/src/servers/bare.mjs --socket) with the
 * backend's 200 ms delta period and with the proposed change (a batch holding a status change is
 * pushed on the next 20 ms lease tick), to show which part of the lag is the push period.
 *
 *   --instances N (10000 per scenario)  --interval MS (5000)  --lost-after MS (15000, the default)
 *   --sockets N (25 sockets x 20 watched ids)  --no-prototype  --smoke
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeProfile, latestProfile, longestBusyStretches } from './lib/cpuprofile.mjs';
import { parseArgs } from './lib/args.mjs';
import { instanceId } from './lib/beats.mjs';
import { connectDashboard } from './lib/dashboard-client.mjs';
import { startFleet } from './lib/loadgen.mjs';
import { monotonicUs, sleep, startBackend, startBare, stop, tempDir } from './lib/processes.mjs';
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
import { fmt, summarize } from './lib/stats.mjs';
import { histogramChart, timeSeriesChart } from './lib/svg.mjs';

const GOAL_MS = 100;
const WATCH_PER_SOCKET = 20;
const args = parseArgs();
const perScenario = args.number('instances', 10_000, 300);
const background = args.number('background', 2 * perScenario, 2 * 300);
const intervalMs = args.number('interval', 5_000, 500);
const lostAfterMs = args.number('lost-after', 15_000, 1_500);
const sockets = args.number('sockets', 25, 3);
const prototype = args.bool('prototype', true, false) && !args.has('no-prototype');
// --profile: CPU profile of the backend over each scenario's expiry window (where the time goes).
const profile = args.bool('profile', true, false) && !args.has('no-profile');
const total = 2 * perScenario + background;
const load0 = loadNow();

console.log(`bench:expiry  ${machine()}; ${pinning()}`);
console.log(
  `fleet of ${total} instances beating every ${intervalMs} ms +-10 %, lost timeout ${lostAfterMs} ms; ` +
    `${perScenario} stop per scenario; ${sockets} dashboard sockets x ${WATCH_PER_SOCKET} watched instances`,
);

async function measure(label, server) {
  const fleet = await startFleet({ port: server.port, instances: total, intervalMs, rampMs: intervalMs, connections: 500 });
  const t0 = Date.now();
  fleet.start();
  let registered = false;
  fleet.registered.then(() => (registered = true));
  while (!registered) {
    await sleep(200);
    if (Date.now() - t0 > 120_000) throw new Error(`${label}: the fleet did not register within 120 s`);
  }
  // Four more beats each, so the backend knows every instance's interval (median of 3 gaps).
  console.log(
    `[${label}] ${total} instances registered in ${((Date.now() - t0) / 1000).toFixed(1)} s; beating for ${(3.5 * intervalMs) / 1000} s`,
  );
  await sleep(3.5 * intervalMs);
  const results = [];
  for (const [scenario, from, burst] of [
    ['spread', 0, false],
    ['burst', perScenario, true],
  ]) {
    const to = from + perScenario;
    const watchedIds = [];
    const step = perScenario / (sockets * WATCH_PER_SOCKET);
    for (let k = 0; k < sockets * WATCH_PER_SOCKET && k < perScenario; k++)
      watchedIds.push(instanceId(fleet.run, from + Math.floor(k * step)));
    const watched = new Set(watchedIds);
    const socketLags = new Map();
    const eventLags = [];
    const clients = [];
    for (let c = 0; c < sockets; c++) {
      const ids = watchedIds.slice(c * WATCH_PER_SOCKET, (c + 1) * WATCH_PER_SOCKET);
      if (ids.length === 0) break;
      clients.push(
        await connectDashboard(server.url, {
          view: { window: null, watch: ids },
          onDelta: (delta, at) => {
            for (const instance of delta.upserts ?? []) {
              if (instance.status === 'lost' && watched.has(instance.instanceId) && !socketLags.has(instance.instanceId)) {
                socketLags.set(instance.instanceId, at - instance.statusSince);
              }
            }
            if (c === 0) {
              for (const event of delta.events ?? []) {
                if (event.type === 'instance.lost' && event.attributes?.deadline) eventLags.push(at - Number(event.attributes.deadline));
              }
            }
          },
        }),
      );
    }
    const probeFrom = server.probe.poll().length;
    const fromUs = monotonicUs();
    const haltedAt = Date.now();
    const { lastAnsweredAt } = await fleet.halt(from, to, burst);
    // Every deadline has passed lostAfter after the last answered beat; then give the pushes time.
    const waitUntil = lastAnsweredAt + lostAfterMs + 1500;
    let lost = 0;
    let shown = Date.now();
    while (Date.now() < waitUntil || (lost < perScenario && Date.now() < waitUntil + 2 * lostAfterMs)) {
      await sleep(250);
      lost = server.probe
        .poll()
        .slice(probeFrom)
        .reduce((a, s) => a + s.lost, 0);
      if (lost >= perScenario && Date.now() >= waitUntil) break;
      if (Date.now() - shown >= 5000) {
        shown = Date.now();
        const p = server.probe.latest;
        console.log(
          `[${label}] ${scenario}: ${((Date.now() - haltedAt) / 1000).toFixed(0)} s after the stop, ${lost}/${perScenario} lost, ` +
            `${p?.instances ?? '?'} instances, ${fmt((((p?.beats ?? 0) + (p?.upserts ?? 0)) * 1000) / (p?.periodMs ?? 1), 0)} beats/s`,
        );
      }
    }
    await server.probe.next();
    const samples = server.probe.poll().slice(probeFrom);
    const toUs = monotonicUs();
    const backendLags = samples.flatMap((s) => s.lostLags);
    for (const client of clients) client.close();
    const r = {
      server: label,
      scenario,
      stopped: perScenario,
      deadlineSpreadS: (lastAnsweredAt - haltedAt) / 1000 + (burst ? 0 : intervalMs / 1000),
      backend: summarize(backendLags),
      socket: summarize([...socketLags.values()]),
      events: summarize(eventLags),
      raw: { backend: backendLags, socket: [...socketLags.values()], events: eventLags },
      heldOrMissing: perScenario - backendLags.length,
      loopLagMax: Math.max(0, ...samples.map((x) => x.lagMax)),
      window: { fromUs, toUs },
      loopLagP99: Math.max(0, ...samples.map((x) => x.lagP99)),
    };
    results.push(r);
    console.log(
      `[${label}] ${scenario}: ${r.backend.count}/${perScenario} lost; in backend p99 ${fmt(r.backend.p99)} ms; ` +
        `socket (watched) ${r.socket.count} seen, p99 ${fmt(r.socket.p99)} ms; events ${r.events.count} seen, p99 ${fmt(r.events.p99)} ms`,
    );
  }
  await fleet.stop();
  return { results, samples: server.probe.poll(), t0 };
}

const runs = [];
const profileRoot = profile ? tempDir('expiry-prof') : undefined;
// Profiled from boot with node --cpu-prof when profiling (sampling costs a few %, alike all run long).
const backend = await startBackend({ probe: true, cpuProf: profileRoot, env: { VIGIL_LOST_AFTER_MS: String(lostAfterMs) } });
const backendRun = await measure('backend', backend);
await stop(backend.child);
if (profileRoot) {
  const file = latestProfile(profileRoot);
  for (const r of backendRun.results) {
    r.profiled = analyzeProfile(file, { top: 8, ...r.window });
    r.stalls = longestBusyStretches(file, { count: 3, top: 4, ...r.window });
  }
}
runs.push(...backendRun.results);
if (prototype) {
  for (const [label, statusFlush] of [
    ['prototype, 200 ms push', 200],
    ['prototype, status on next tick', 20],
  ]) {
    const bare = await startBare({
      probe: true,
      flags: ['--socket', '--lost-after-ms', String(lostAfterMs), '--flush-ms', '200', '--status-flush-ms', String(statusFlush)],
    });
    const run = await measure(label, bare);
    await stop(bare.child);
    runs.push(...run.results);
  }
}
const load1 = loadNow();

const headers = [
  'server',
  'scenario',
  'lost / stopped',
  'event-loop lag max ms',
  'deadline -> transition in backend p50 / p99 / max ms',
  'deadline -> socket delta (watched) n, p50 / p99 / max ms',
  'deadline -> lost event on socket n, p50 / p99 / max ms',
];
const triple = (s) => `${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)}`;
const rows = runs.map((r) => [
  r.server,
  r.scenario,
  `${r.backend.count} / ${r.stopped}`,
  fmt(r.loopLagMax),
  triple(r.backend),
  `${r.socket.count}: ${triple(r.socket)}`,
  `${r.events.count}: ${triple(r.events)}`,
]);
console.log('');
printTable(headers, rows);
console.log(loadConditions(load0, load1));
const profileTables = [];
for (const r of runs.filter((x) => x.profiled)) {
  const p = r.profiled;
  const comp = p.components.slice(0, 8).map((c) => [c.name, fmt((c.pct / 100) * p.busyMs, 0)]);
  const fns = p.functions.map((f) => [f.name, f.component, fmt((f.pct / 100) * p.busyMs, 0)]);
  console.log(
    `\nCPU profile of the backend over the ${r.scenario} expiry window (${fmt(p.busyMs, 0)} ms busy of ${fmt(p.busyMs + p.idleMs, 0)} ms):`,
  );
  printTable(['component', 'busy ms'], comp);
  printTable(['hottest functions (self)', 'component', 'ms'], fns);
  const stallRows = r.stalls.map((x) => [
    fmt(x.ms, 0),
    fmt((x.atUs - r.window.fromUs) / 1e6, 1),
    x.components.map((c) => `${c.name} ${fmt(c.ms, 0)}`).join(', '),
    x.functions.map((f) => `${f.name} ${fmt(f.ms, 0)}`).join('; '),
  ]);
  const stallHead = ['stall ms', 's after the stop', 'components (ms)', 'functions (self ms)'];
  console.log('longest stretches without an idle sample (event-loop stalls):');
  printTable(stallHead, stallRows);
  profileTables.push(
    `CPU profile of the backend over the ${r.scenario} expiry window (\`node --cpu-prof\`, ${fmt(p.busyMs, 0)} ms busy of ${fmt(p.busyMs + p.idleMs, 0)} ms):\n\n` +
      markdownTable(['component', 'busy ms'], comp) +
      '\n\n' +
      markdownTable(['hottest function (self time)', 'component', 'ms'], fns) +
      '\n\nLongest stretches without an idle sample (event-loop stalls) in that window:\n\n' +
      markdownTable(stallHead, stallRows),
  );
}
const backendRows = runs.filter((r) => r.server === 'backend');
const inBackendP99 = Math.max(...backendRows.map((r) => r.backend.p99));
const socketP99 = Math.max(...backendRows.map((r) => r.socket.p99));

if (args.docs) {
  mkdirSync(imagesDir, { recursive: true });
  const series = [];
  for (const r of runs) {
    if (r.server === 'backend') {
      series.push({ name: `backend ${r.scenario}: in backend`, values: r.raw.backend, color: '#2563eb' });
      series.push({ name: `backend ${r.scenario}: socket delta`, values: r.raw.socket, color: '#dc2626' });
    } else if (r.scenario === 'burst') {
      series.push({ name: `${r.server} (burst): socket`, values: r.raw.socket, color: '#16a34a' });
    }
  }
  writeFileSync(
    join(imagesDir, 'expiry-lag.svg'),
    histogramChart({
      title: `bench:expiry: lease deadline -> lost seen, ${perScenario} instances per scenario (${today()})`,
      xLabel: 'ms after the lease deadline',
      binWidth: 10,
      xMax: 500,
      series,
      goal: { x: GOAL_MS, label: `goal p99 <= ${GOAL_MS} ms` },
    }),
  );
  const s = backendRun.samples.filter((x) => x.t >= backendRun.t0);
  const tx = (x) => (x.t - backendRun.t0) / 1000;
  writeFileSync(
    join(imagesDir, 'expiry-timeline.svg'),
    timeSeriesChart({
      title: `bench:expiry: the backend during the run (${today()})`,
      xLabel: 'seconds since the fleet started',
      panels: [
        {
          label: 'beats/s',
          series: [{ name: 'beats + upserts /s', points: s.map((x) => [tx(x), ((x.beats + x.upserts) * 1000) / x.periodMs]) }],
        },
        { label: 'lost/s', series: [{ name: 'lost transitions /s', points: s.map((x) => [tx(x), (x.lost * 1000) / x.periodMs]) }] },
        { label: 'RSS (MiB)', series: [{ name: 'backend RSS', points: s.map((x) => [tx(x), x.rss / 2 ** 20]) }] },
        {
          label: 'event-loop lag (ms)',
          series: [
            { name: 'p99 per second', points: s.map((x) => [tx(x), x.lagP99]) },
            { name: 'max per second', points: s.map((x) => [tx(x), x.lagMax]) },
          ],
        },
      ],
    }),
  );
  const cmd = 'npm run bench:expiry';
  writeLatest(
    'expiry',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `Fleet of ${total} instances beating every ${intervalMs} ms +-10 %, lost timeout ${lostAfterMs} ms, ${perScenario} instances stop per scenario; ${sockets} sockets x ${WATCH_PER_SOCKET} watched instances sample the socket path.`,
      '',
      markdownTable(headers, rows),
      '',
      ...profileTables.flatMap((t) => [t, '']),
      '![bench:expiry: lag distributions](images/expiry-lag.svg)',
      '',
      '![bench:expiry: the backend over the run](images/expiry-timeline.svg)',
    ].join('\n'),
  );
  appendRow(
    'bench:expiry',
    [
      'date',
      'command',
      'machine',
      'load',
      'in backend p99 ms (spread / burst)',
      'socket p99 ms (spread / burst)',
      'goal p99 <= 100 (socket)',
    ],
    [
      today(),
      `\`${cmd}\``,
      machine(),
      `${load0.toFixed(2)} -> ${load1.toFixed(2)}`,
      backendRows.map((r) => fmt(r.backend.p99)).join(' / '),
      backendRows.map((r) => fmt(r.socket.p99)).join(' / '),
      socketP99 <= GOAL_MS ? 'met' : 'missed',
    ],
  );
}
console.log(`expiry lag in the backend (deadline -> lost transition) p99: ${fmt(inBackendP99)} ms`);
console.log(`expiry lag p99: ${fmt(socketP99)} ms (goal <= ${GOAL_MS})`);
process.exit(0);
