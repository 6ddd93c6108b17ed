#!/usr/bin/env node
/**
 * npm run bench:abuse: the attacks of issue 17 as floods against one real backend on loopback,
 * with its default limits (a 5 s lost timeout), while two real services with the agent attached beat to it. Reports,
 * per flood, what was sent, how it was answered, the backend's RSS, whether it stayed up and
 * whether the real agents stayed `healthy` throughout. Bounded in time; loopback only.
 *
 *   --duration S   (30: each timed flood; smoke 3)
 *   --only a,b     (run only these floods: events, instances, wide-beats, login, aborted, slow, probes, self-preservation)
 *   --rss-bound MiB (1024: the documented bound on the backend's RSS through every flood)
 *   --json FILE    also write the results as JSON (the smoke test reads them)
 *   --smoke        short floods, nothing written to docs
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import {
  floodAbortedBodies,
  floodEvents,
  floodLogin,
  floodNewInstances,
  floodProbes,
  floodSelfPreservation,
  floodSlowBodies,
  floodWideBeats,
  send,
} from './lib/abuse-floods.mjs';
import { cores, repoRoot, rssBytes, sleep, spawnNode, startBackend, stop, tempDir } from './lib/processes.mjs';
import { loadConditions, loadNow, machine, markdownTable, printTable, stamp, writeLatest } from './lib/report.mjs';
import { fmt, mib } from './lib/stats.mjs';

const args = parseArgs();
const durationS = args.number('duration', 30, 3);
const rssBoundMiB = args.number('rss-bound', 1024);
const only = args.has('only') ? new Set(args.string('only', '').split(',')) : null;
const wanted = (name) => !only || only.has(name);
const load0 = loadNow();

const AGENT_TOKEN = 'abuse-agent-token-0123456789';
const SCOPED_TOKEN = 'abuse-orders-token-0123456789';
const API_TOKEN = 'abuse-api-token-0123456789abc';
const PASSWORD = 'abuse-admin-password';
/** The lost timeout (shorter than the default 15 s, so a killed service's expiry is seen quickly). */
const LOST_AFTER_MS = 5_000;

console.log(`bench:abuse  ${machine()}`);
const backend = await startBackend({
  core: cores.server,
  readyPath: '/healthz',
  env: {
    VIGIL_LOG_LEVEL: 'info',
    VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS),
    VIGIL_AGENT_TOKENS: `${AGENT_TOKEN},${SCOPED_TOKEN}:orders-`,
    VIGIL_API_TOKENS: API_TOKEN,
    VIGIL_ADMIN_PASSWORD: PASSWORD,
    VIGIL_DATA_DIR: tempDir('abuse-data'),
    // Smoke runs cut slow bodies after 2 s instead of the default 30 s, to see them closed.
    ...(args.smoke && { VIGIL_HEADERS_TIMEOUT_MS: '1000', VIGIL_REQUEST_TIMEOUT_MS: '2000' }),
  },
});
const pid = backend.child.pid;

// Every line the backend prints (stdout and stderr), to check that logs stay JSON lines under attack.
const log = { lines: 0, bytes: 0, nonJson: 0, sample: '' };
for (const stream of [backend.child.stdout, backend.child.stderr]) {
  let partial = '';
  stream.on('data', (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (line === '') continue;
      log.lines++;
      log.bytes += line.length + 1;
      try {
        JSON.parse(line);
      } catch {
        log.nonJson++;
        log.sample ||= line.slice(0, 160);
      }
    }
  });
}

// Two real services with the agent attached, beating every second.
const require = createRequire(import.meta.url);
const register = require.resolve('@vigil/agent/register');
const serviceFile = fileURLToPath(new URL('./apps/service.mjs', import.meta.url));
function startService(name) {
  const child = spawnNode(cores.load, ['--import', register, serviceFile], {
    cwd: tempDir('abuse-service'),
    env: {
      ...process.env,
      PORT: '0',
      VIGIL_BACKEND_URL: backend.url,
      VIGIL_AGENT_TOKEN: AGENT_TOKEN,
      VIGIL_SERVICE_NAME: name,
      VIGIL_HEARTBEAT_INTERVAL: '1000',
      VIGIL_PLUGINS_DIR: join(repoRoot, 'plugins'),
      VIGIL_PLUGINS: 'template',
    },
  });
  return { name, child };
}
const services = ['real-orders', 'real-payments'].map(startService);

const api = (path) => send(backend.url, { path, headers: { authorization: `Bearer ${API_TOKEN}` } });
async function statusesOf(list) {
  const r = await api('/api/v1/instances?limit=1000&q=real-');
  if (r.status !== 200) return null;
  const instances = JSON.parse(r.body).instances;
  return list.map((s) => instances.find((i) => i.processId === s.child.pid)?.status ?? 'absent');
}
const realStatuses = () => statusesOf(services);
const healthyDeadline = Date.now() + 30_000;
while (Date.now() < healthyDeadline && !(await realStatuses())?.every((s) => s === 'healthy')) await sleep(200);
const initial = await realStatuses();
if (!initial?.every((s) => s === 'healthy'))
  throw new Error(`the real agents did not become healthy: ${initial}\n${services.map((s) => s.child.output()).join('\n')}`);

// Watches the backend while a flood runs: RSS, liveness (/healthz) and the real agents' status.
function watch() {
  const w = { rssMax: rssBytes(pid), down: 0, notHealthy: [], samples: 0, stopped: false };
  w.done = (async () => {
    while (!w.stopped) {
      w.rssMax = Math.max(w.rssMax, rssBytes(pid) || 0);
      const health = await send(backend.url, { path: '/healthz', timeoutMs: 5_000 });
      if (health.status !== 200) w.down++;
      const statuses = await realStatuses().catch(() => null);
      w.samples++;
      if (!statuses) w.down++;
      else statuses.forEach((s, k) => s !== 'healthy' && w.notHealthy.push(`${services[k].name} ${s}`));
      await sleep(250);
    }
  })();
  w.stop = async () => {
    w.stopped = true;
    await w.done;
    return w;
  };
  return w;
}

const durationMs = durationS * 1000;

/**
 * A scoped token's instances that claim a 100 ms interval and a 30-day timeout go silent; then a
 * real service is killed: it must go lost within the lost timeout, not be held by self-preservation.
 */
async function selfPreservation() {
  const victim = startService('real-victim');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await statusesOf([victim]))?.[0] !== 'healthy') await sleep(200);
  const since = Date.now();
  const tally = await floodSelfPreservation({ url: backend.url, token: SCOPED_TOKEN, durationMs: 3_000 });
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  let status;
  while (Date.now() - killedAt < 60_000 && (status = (await statusesOf([victim]))?.[0]) !== 'lost') await sleep(100);
  tally.victimLostAfterMs = status === 'lost' ? Date.now() - killedAt : NaN;
  const events = await api(`/api/v1/events?type=self-preservation.entered&from=${since}&limit=10`);
  tally.selfPreservationEntered = events.status === 200 ? JSON.parse(events.body).total : NaN;
  tally.notes.push(`self-preservation entered ${tally.selfPreservationEntered} times`);
  tally.notes.push(
    `a killed real service went lost after ${status === 'lost' ? `${fmt(tally.victimLostAfterMs / 1000, 1)} s` : 'more than 60 s'} (lost timeout ${LOST_AFTER_MS / 1000} s)`,
  );
  return tally;
}
const floods = [
  // First, while the fleet is small: one token's 15 silent instances are most of it.
  ['self-preservation', '15 instances with a 100 ms interval and a 30-day timeout, then silent; a real service killed', selfPreservation],
  [
    'events',
    'event batches of 9 wide events (~1 MiB), 4 connections',
    () => floodEvents({ url: backend.url, token: SCOPED_TOKEN, durationMs }),
  ],
  [
    'instances',
    'full beats of new instance ids, 16 connections',
    () => floodNewInstances({ url: backend.url, token: SCOPED_TOKEN, durationMs }),
  ],
  [
    'wide-beats',
    'full beats of ~238 KB (128 plugins with ext-info) for new ids',
    () => floodWideBeats({ url: backend.url, token: SCOPED_TOKEN, durationMs }),
  ],
  [
    'login',
    `${args.smoke ? 300 : 1500} concurrent wrong passwords from one address`,
    () => floodLogin({ url: backend.url, password: PASSWORD, attempts: args.smoke ? 300 : 1500 }),
  ],
  ['aborted', '1,000 login bodies promising 100 bytes, cut after 4', () => floodAbortedBodies({ port: backend.port })],
  [
    'slow',
    'bodies at 1 byte/s on login, Nacos and the beat PUT (60 connections)',
    () => floodSlowBodies({ port: backend.port, durationMs: args.smoke ? 8_000 : 60_000 }),
  ],
  [
    'probes',
    `${args.smoke ? 300 : 3000} persistent Nacos instances probing another host's side-effect path`,
    () =>
      floodProbes({
        url: backend.url,
        token: SCOPED_TOKEN,
        durationMs: Math.max(durationMs, 12_000),
        registrations: args.smoke ? 300 : 3000,
      }),
  ],
];

const rows = [];
const results = {};
for (const [name, what, run] of floods) {
  if (!wanted(name)) continue;
  const rssBefore = rssBytes(pid);
  const linesBefore = log.lines;
  const nonJsonBefore = log.nonJson;
  const w = watch();
  const t0 = performance.now();
  const tally = await run();
  // The real agents must stay healthy through the flood and the time the backend needs after it.
  await sleep(2_000);
  await w.stop();
  const up = backend.child.exitCode === null && backend.child.signalCode === null && w.down === 0;
  const answers = Object.entries(tally.statuses)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  const refusal = Object.entries(tally.samples).find(
    ([status]) => status === '413' || status === '429' || status === '403' || status === '503',
  );
  results[name] = {
    tally,
    up,
    rssMax: w.rssMax,
    notHealthy: w.notHealthy,
    logLines: log.lines - linesBefore,
    nonJson: log.nonJson - nonJsonBefore,
  };
  rows.push([
    name,
    what,
    tally.sent,
    answers,
    `${fmt(mib(rssBefore), 0)} -> ${fmt(mib(w.rssMax), 0)}`,
    up ? 'yes' : 'NO',
    w.notHealthy.length === 0 ? 'yes' : `NO (${[...new Set(w.notHealthy)].slice(0, 2).join('; ')})`,
    `${log.lines - linesBefore} (${log.nonJson - nonJsonBefore} not JSON)`,
    [...tally.notes, refusal ? `refusal: ${refusal[0]} ${refusal[1]}` : ''].filter(Boolean).join('; '),
  ]);
  console.log(
    `${name}: ${fmt((performance.now() - t0) / 1000, 1)} s, sent ${tally.sent}, ${answers}; rss max ${fmt(mib(w.rssMax), 0)} MiB; up ${up}; ${tally.notes.join('; ')}`,
  );
  if (!up) break;
}

const headers = ['flood', 'what', 'sent', 'answers', 'RSS MiB (before -> max)', 'backend up', 'real agents healthy', 'log lines', 'notes'];
console.log('');
printTable(headers, rows);
const rssMax = Math.max(...Object.values(results).map((r) => r.rssMax));
const allUp = Object.values(results).every((r) => r.up);
const allHealthy = Object.values(results).every((r) => r.notHealthy.length === 0);
const nonJson = log.nonJson;
const load1 = loadNow();
console.log(loadConditions(load0, load1));
for (const s of services) await stop(s.child);
await stop(backend.child);

if (args.docs) {
  const cmd = `npm run bench:abuse${durationS !== 30 ? ` -- --duration ${durationS}` : ''}`;
  writeLatest(
    'abuse',
    [
      `Latest full run: ${stamp()}, \`${cmd}\`; ${machine()}; ${loadConditions(load0, load1)}.`,
      `One backend with default limits (agent, scoped agent and API tokens and an admin password configured), two real services with the agent attached beating every second; RSS bound ${rssBoundMiB} MiB.`,
      '',
      markdownTable(headers, rows),
    ].join('\n'),
    'reliability.md',
  );
}
if (args.has('json')) {
  const summary = Object.fromEntries(
    Object.entries(results).map(([name, r]) => [name, { ...r, tally: { ...r.tally, samples: r.tally.samples } }]),
  );
  writeFileSync(args.string('json', ''), JSON.stringify({ rssBoundMiB, rssMax, allUp, allHealthy, log, floods: summary }, null, 2));
}
console.log(
  `abuse ${Object.keys(results).length} floods: backend up ${allUp ? 'yes' : 'no'}, rss max ${fmt(mib(rssMax), 0)} MiB ` +
    `(bound ${rssBoundMiB}), real agents healthy ${allHealthy ? 'yes' : 'no'}, non-JSON log lines ${nonJson}`,
);
process.exit(0);
