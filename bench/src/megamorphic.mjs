#!/usr/bin/env node
/**
 * Where the agent without plugins costs the hello-world service (docs/benchmarks.md, bench:agent,
 * "where the agent without plugins costs"): bench:agent's callgrind method (bench/src/lib/callgrind.mjs)
 * over the agent's transport variants, printing per variant and run the instructions per request
 * on the main thread outside GC and the part of them in V8's megamorphic inline-cache builtins
 * (`Builtins_*IC_Megamorphic*`, self cost). The totals move 2-4 % from run to run (when V8's
 * concurrent compiles finish); the megamorphic part repeats, and grows when the agent's own
 * traffic (beats, events, the beat socket) runs node's shared request path (node:stream Writable,
 * node:http's parser callbacks, OutgoingMessage) with other object shapes than the service's.
 *
 *   node bench/src/megamorphic.mjs [--runs 2] [--requests 5000] [--variants none,beats-off,...]
 *                                  [--symbols] [--top 25] [--register packages/agent/dist-x/register.js]
 *
 * --symbols runs node with --perf-basic-prof and names JIT code from /tmp/perf-<pid>.map;
 * --top N then prints the N functions whose self cost per request differs most from the first
 * variant's (first run of each). Variants (default: all, in this order):
 *   none         no agent
 *   beats-off    agent, no plugins, VIGIL_AGENT_SERVICE_HEARTBEAT_ENABLE=false
 *   defaults     agent, no plugins (beat socket + event batches)
 *   http         agent, no plugins, VIGIL_HEARTBEAT_TRANSPORT=http
 *   events-off   agent, no plugins, VIGIL_AGENT_SERVICE_EVENT_ENABLE=false
 *   http-events-off  both of the last two
 * The agent beats to a real backend (apps/backend/dist/main.js, started here) every 600 s: the
 * first beat and the first event batch go out before the warm-up ends, none in the counted
 * requests. Each run is a fresh process; runs alternate over the variants.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { callgrindInstalled, countInstructions, megamorphicCost, readSelfCosts } from './lib/callgrind.mjs';
import { cores, startBackend, stop, tempDir } from './lib/processes.mjs';
import { loadNow, machine } from './lib/report.mjs';
import { fmt, median } from './lib/stats.mjs';

const args = parseArgs();
const runs = args.number('runs', 2, 1);
const requests = args.number('requests', 5000, 300);
const symbols = args.bool('symbols', false);
const top = args.number('top', symbols ? 25 : 0);
const require = createRequire(import.meta.url);
// --register FILE: another build of the agent (e.g. a candidate change, built with `tsc --outDir`).
const register = args.has('register')
  ? fileURLToPath(new URL(args.string('register', ''), `file://${process.cwd()}/`))
  : require.resolve('@vigil/agent/register');
const serviceFile = fileURLToPath(new URL('./apps/service.mjs', import.meta.url));

const agent = (env = {}) => ({ agent: true, env });
const ALL = {
  none: { agent: false, env: {} },
  'beats-off': agent({ VIGIL_AGENT_SERVICE_HEARTBEAT_ENABLE: 'false' }),
  defaults: agent(),
  http: agent({ VIGIL_HEARTBEAT_TRANSPORT: 'http' }),
  'events-off': agent({ VIGIL_AGENT_SERVICE_EVENT_ENABLE: 'false' }),
  'http-events-off': agent({ VIGIL_HEARTBEAT_TRANSPORT: 'http', VIGIL_AGENT_SERVICE_EVENT_ENABLE: 'false' }),
};
const names = args.string('variants', 'none,beats-off,defaults,http,events-off').split(',');
for (const n of names) if (!ALL[n]) throw new Error(`unknown variant ${n}; one of ${Object.keys(ALL).join(', ')}`);
if (!callgrindInstalled()) throw new Error('valgrind (callgrind) is not installed');

const cwd = tempDir('service');
mkdirSync(join(cwd, 'vigil'));
const load0 = loadNow();
console.log(
  `megamorphic  ${machine()}; agent ${register}; load ${load0}; ${runs} run(s) x ${names.join(', ')}; ${requests} requests counted after ${requests}`,
);
const backend = await startBackend({ core: cores.load });
const results = Object.fromEntries(names.map((n) => [n, []]));
const costs = {};
try {
  for (let run = 0; run < runs; run++) {
    for (const name of run % 2 ? [...names].reverse() : names) {
      const v = ALL[name];
      const env = v.agent
        ? {
            VIGIL_BACKEND_URL: backend.url,
            VIGIL_PLUGINS: '',
            VIGIL_SERVICE_NAME: `mega-${name}`,
            VIGIL_HEARTBEAT_INTERVAL: '600000',
            ...v.env,
          }
        : {};
      const nodeArgs = [...(symbols ? ['--perf-basic-prof'] : []), ...(v.agent ? ['--import', register] : [])];
      const c = await countInstructions({ nodeArgs, script: serviceFile, cwd, env, warmup: requests, requests });
      const mapFile = `/tmp/perf-${c.pid}.map`;
      const perfMap = symbols && existsSync(mapFile) ? readFileSync(mapFile, 'utf8') : undefined;
      if (symbols) rmSync(mapFile, { force: true });
      const self = readSelfCosts(c.mainFile, perfMap);
      rmSync(c.dir, { recursive: true, force: true });
      const mega = megamorphicCost(self) / requests;
      results[name].push({ outside: c.outsideGcPerRequest, mega, gc: c.gcPerRequest });
      costs[name] ??= self;
      console.log(
        `run ${run + 1}/${runs} ${name.padEnd(16)} main thread outside GC ${fmt(c.outsideGcPerRequest, 0).padStart(7)}  megamorphic IC ${fmt(mega, 0).padStart(5)}  GC ${fmt(c.gcPerRequest, 0)} (${c.scavenges} scavenges)  load ${loadNow()}`,
      );
    }
  }
} finally {
  await stop(backend.child);
}

console.log(`\n| variant | main thread outside GC, per request (runs; median) | in Builtins_*IC_Megamorphic* (runs; median) |`);
console.log('|---|---|---|');
for (const n of names) {
  const r = results[n];
  const list = (k) => `${r.map((x) => fmt(x[k], 0)).join(' / ')}; ${fmt(median(r.map((x) => x[k])), 0)}`;
  console.log(`| ${n} | ${list('outside')} | ${list('mega')} |`);
}
console.log(`load before ${load0}, after ${loadNow()}`);

if (top > 0 && names.length > 1) {
  const base = costs[names[0]];
  for (const n of names.slice(1)) {
    const diff = [];
    for (const key of new Set([...base.keys(), ...costs[n].keys()])) {
      const d = ((costs[n].get(key) ?? 0) - (base.get(key) ?? 0)) / requests;
      if (Math.abs(d) >= 1) diff.push([key, d, (base.get(key) ?? 0) / requests, (costs[n].get(key) ?? 0) / requests]);
    }
    diff.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    console.log(`\nself instructions per request, ${n} against ${names[0]} (first runs), largest differences:`);
    for (const [key, d, a, b] of diff.slice(0, top))
      console.log(
        `  ${d >= 0 ? '+' : ''}${fmt(d, 0).padStart(6)}  ${fmt(a, 0).padStart(6)} -> ${fmt(b, 0).padStart(6)}  ${key.slice(0, 140)}`,
      );
  }
}
