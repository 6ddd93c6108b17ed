#!/usr/bin/env node
/**
 * npm run bench:soak -- --instances N --interval MS --duration SECONDS: load held over time. By
 * default twice bench:fleet's rate (its 300000 instances, beating every 2.5 s instead of 5 s:
 * 120000 beats/s) for 10 minutes against one backend process, after the fleet registered. Goals:
 * no error responses, bounded memory (RSS in the last fifth of the run within 10 % of RSS in the
 * second fifth: no growth once the fleet is in), no event-loop lag above 100 ms, no false lost.
 *
 *   --instances N      (300000)        --interval MS    (2500)
 *   --duration S       (600)           --connections N  (1000 connections, shared)
 *   --ramp S           (30: first beats spread over this)
 *   --transport T      (socket: the beat socket, as agents beat by default; http: PUT requests)
 *   --smoke            1000 instances, 500 ms interval, a few seconds, no docs
 */
import { parseArgs } from './lib/args.mjs';
import { startFleet } from './lib/loadgen.mjs';
import { sleep, startBackend, stop } from './lib/processes.mjs';
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

const args = parseArgs();
const instances = args.number('instances', 300_000, 1_000);
const intervalMs = args.number('interval', 2_500, 500);
const durationS = args.number('duration', 600, 5);
const connections = args.number('connections', 1_000, 100);
const rampS = args.number('ramp', 30, 1);
const transport = args.string('transport', 'socket');
if (transport !== 'socket' && transport !== 'http') throw new Error(`--transport must be socket or http, not ${transport}`);
const LAG_GOAL_MS = 100;
const RSS_GROWTH_GOAL = 0.1;
const target = instances / (intervalMs / 1000);
const load0 = loadNow();

console.log(`bench:soak  ${machine()}; ${pinning()}`);
console.log(
  `${instances} instances, beat every ${intervalMs} ms +-10 %, ${connections} ${transport === 'socket' ? 'beat sockets' : 'keep-alive HTTP connections'}, ` +
    `target ${fmt(target, 0)} beats/s, held for ${durationS} s after the fleet registered`,
);

const backend = await startBackend({ probe: true });
const fleet = await startFleet({ port: backend.port, instances, connections, intervalMs, rampMs: rampS * 1000, transport });
const samples = [];
const t0 = Date.now();
let registeredAt;
fleet.registered.then((at) => (registeredAt = at));
const off = fleet.onStats((s) => {
  const p = backend.probe?.latest;
  const sample = {
    t: (s.t - t0) / 1000,
    beats: s.answered / (s.periodMs / 1000),
    errors: s.errors,
    rss: p?.rss,
    lagMax: p?.lagMax,
    lost: p?.lost ?? 0,
  };
  samples.push(sample);
  if (process.stdout.isTTY || samples.length % 30 === 0 || args.smoke) {
    console.log(
      `[${fmt(sample.t, 0).padStart(4)} s] beats/s ${fmt(sample.beats, 0).padStart(6)}  rss ${fmt(mib(sample.rss ?? NaN), 0)} MiB  ` +
        `lag max ${fmt(sample.lagMax)} ms  errors ${sample.errors}  lost ${sample.lost}`,
    );
  }
});
fleet.start();
const deadline = performance.now() + (rampS + intervalMs / 1000) * 1000 + 120_000;
while (!registeredAt && performance.now() < deadline) await sleep(250);
// The soak is measured from one interval after the last registration: every instance beats by then.
const steadyStart = (registeredAt ? (registeredAt - t0) / 1000 : rampS) + intervalMs / 1000;
while ((Date.now() - t0) / 1000 < steadyStart + durationS) await sleep(250);
const summary = await fleet.summary();
off();
await fleet.stop();
await stop(backend.child);
const load1 = loadNow();

const steady = samples.filter((s) => s.t >= steadyStart);
const fifth = (k) => steady.filter((s) => s.t >= steadyStart + (k * durationS) / 5 && s.t < steadyStart + ((k + 1) * durationS) / 5);
const rssOf = (part) => median(part.map((s) => s.rss ?? NaN).filter(Number.isFinite));
const rssEarly = rssOf(fifth(1));
const rssLate = rssOf(fifth(4));
const rssGrowth = (rssLate - rssEarly) / rssEarly;
const rssMax = Math.max(0, ...samples.map((s) => s.rss ?? 0));
const lagMax = Math.max(0, ...steady.map((s) => s.lagMax ?? 0));
const errors = summary.errors;
const falseLost = samples.reduce((a, s) => a + s.lost, 0);
const beatsPerS = median(steady.map((s) => s.beats));
const met = errors === 0 && falseLost === 0 && lagMax <= LAG_GOAL_MS && rssGrowth <= RSS_GROWTH_GOAL && beatsPerS >= 0.97 * target;

const rows = [
  ['sustained beats/s (median of soak seconds)', fmt(beatsPerS, 0), `${fmt(target, 0)} (N / interval)`],
  ['error responses and failed requests', errors, '0'],
  ['false lost transitions', falseLost, '0'],
  ['event-loop lag max (ms)', fmt(lagMax), `<= ${LAG_GOAL_MS}`],
  [
    'RSS 2nd fifth -> last fifth (MiB, median)',
    `${fmt(mib(rssEarly), 0)} -> ${fmt(mib(rssLate), 0)} (${fmt(100 * rssGrowth, 1)} %)`,
    `<= +${100 * RSS_GROWTH_GOAL} %`,
  ],
  ['RSS max (MiB)', fmt(mib(rssMax), 0), ''],
];
console.log('');
printTable(['backend, soak', 'value', 'goal'], rows);
console.log(loadConditions(load0, load1));
const cmd = `npm run bench:soak -- --instances ${instances} --interval ${intervalMs} --duration ${durationS}${transport === 'http' ? ' --transport http' : ''}`;
if (args.docs) {
  writeLatest(
    'soak',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${pinning()}; ${loadConditions(load0, load1)}.`,
      `${instances} instances, beat every ${intervalMs} ms +-10 %, ${connections} shared ${transport === 'socket' ? 'beat sockets' : 'keep-alive HTTP connections'}, held ${durationS} s after the fleet registered.`,
      '',
      markdownTable(['backend, soak', 'value', 'goal'], rows),
    ].join('\n'),
  );
  appendRow(
    'bench:soak',
    ['date', 'command', 'machine', 'load', 'beats/s (target)', 'errors', 'false lost', 'lag max ms', 'RSS growth %', 'RSS max MiB', 'goal'],
    [
      today(),
      `\`${cmd}\``,
      machine(),
      `${load0.toFixed(2)} -> ${load1.toFixed(2)}`,
      `${fmt(beatsPerS, 0)} (${fmt(target, 0)})`,
      errors,
      falseLost,
      fmt(lagMax),
      fmt(100 * rssGrowth, 1),
      fmt(mib(rssMax), 0),
      met ? 'met' : 'missed',
    ],
  );
}
console.log(
  `soak ${instances} instances ${durationS} s: errors ${errors}, false lost ${falseLost}, lag max ${fmt(lagMax, 0)} ms, ` +
    `rss growth ${fmt(100 * rssGrowth, 1)} %, beats/s ${fmt(beatsPerS, 0)}, goal ${met ? 'met' : 'missed'}`,
);
process.exit(0);
