/**
 * A fleet of simulated agents in one process (started by loadgen.mjs, pinned to the load core).
 * Each simulated instance behaves as the real agent does (docs/agent-configuration.md): a full
 * beat first, then a light beat every interval jittered +-10 % (the next beat is timed from the
 * answer to the previous one), a full beat at once when the backend answers `unknown`, the next
 * beat full when the content changed (`changePerSecond`: an ext-info value becomes the time that
 * full beat is sent), a full beat after a failure. Instances share keep-alive connections
 * (instance i uses connection i % connections); beats due at the same time on one connection
 * are pipelined. The first beats are spread uniformly over `rampMs`. `transport`: `http` (PUT
 * requests) or `socket` (the beat socket, the agents' default).
 *
 * Messages in: config, start, halt {from, to}, burstHalt {from, to}, exit.
 * Messages out: ready, stats (every statsMs), registered, halted {from, to, lastAnsweredAt}, summary.
 */
import { createHistogram } from 'node:perf_hooks';
import { beatRequest, fullBody, HEALTH_UP, instanceId, lightBody, METRICS_SAMPLES } from './beats.mjs';
import { BeatConnection } from './http-client.mjs';
import { SocketBeatConnection } from './socket-client.mjs';

const SLOT_MS = 5;
let cfg;
let conns = [];
let ids;
let nextDue; // Float64Array, performance.now() ms
let slotOf; // Int32Array, absolute slot of the scheduled beat, -1 when none
let lastSentEpoch; // Float64Array, epoch ms of the previous beat sent (lastHeartbeatTime)
let lastAnswered; // Float64Array, performance.now() of the previous answered beat
let changedAt; // Float64Array, epoch ms at which the latest content change was sent (its ext-info value)
let changePending; // Uint8Array, 1 when the content changed since the last beat sent
let flags; // Uint8Array: 1 needFull, 2 registered, 4 sentFull, 8 halted
let pending; // Uint8Array, beats of the instance queued or in flight
let ring;
let ringMask;
let processedSlot;
let registeredCount = 0;
let started = false;
const NEED_FULL = 1;
const REGISTERED = 2;
const SENT_FULL = 4;
const HALTED = 8;

const win = newWindow();
const total = newWindow();
const haltWaits = [];

function newWindow() {
  return {
    sent: 0,
    answered: 0,
    ok: 0,
    registered: 0,
    unknown: 0,
    errors: 0,
    full: 0,
    changes: 0,
    latency: createHistogram(), // µs, write -> answer
    delay: createHistogram(), // µs, due -> answer (includes queueing behind the server)
    gapMax: 0, // ms, longest time between two answered beats of one instance
    gaps: createHistogram(), // ms
  };
}

function resetWindow(w) {
  for (const k of ['sent', 'answered', 'ok', 'registered', 'unknown', 'errors', 'full', 'changes', 'gapMax']) w[k] = 0;
  w.latency.reset();
  w.delay.reset();
  w.gaps.reset();
}

function schedule(i, due) {
  const slot = Math.max(Math.ceil(due / SLOT_MS), processedSlot + 1);
  nextDue[i] = due;
  slotOf[i] = slot;
  ring[slot & ringMask].push(i);
}

function jittered() {
  return cfg.intervalMs * (1 + cfg.jitter * (2 * Math.random() - 1));
}

function fire(i, nowP) {
  const epoch = Math.round(performance.timeOrigin + nowP);
  const id = ids[i];
  const last = lastSentEpoch[i] || null;
  let body;
  if (changePending[i]) {
    // The ext-info value is the moment the backend learns of the change: this beat's send time.
    changedAt[i] = epoch;
    changePending[i] = 0;
  }
  // Metrics in every beat (as agents send by default), a different sample each beat.
  const metrics = cfg.metrics ? METRICS_SAMPLES[(i + (epoch >>> 12)) & 63] : undefined;
  if (flags[i] & NEED_FULL) {
    body = fullBody(id, cfg.indexBase + i, epoch, last, changedAt[i] || undefined, metrics, cfg.metrics ? HEALTH_UP : undefined);
    flags[i] |= SENT_FULL;
    win.full++;
  } else {
    body = lightBody(id, epoch, last, 'light', metrics);
    flags[i] &= ~SENT_FULL;
  }
  lastSentEpoch[i] = epoch;
  pending[i]++;
  win.sent++;
  conns[i % conns.length].send(cfg.transport === 'socket' ? body : beatRequest(body), i);
}

function tick() {
  const nowP = performance.now();
  const lastSlot = Math.floor(nowP / SLOT_MS);
  for (let s = processedSlot + 1; s <= lastSlot; s++) {
    const bucket = ring[s & ringMask];
    if (bucket.length === 0) continue;
    ring[s & ringMask] = [];
    for (const i of bucket) {
      if (slotOf[i] !== s) {
        // Scheduled again since (a change, an unknown answer), or a later lap of the ring.
        if (slotOf[i] > s && (slotOf[i] & ringMask) === (s & ringMask)) ring[s & ringMask].push(i);
        continue;
      }
      slotOf[i] = -1;
      if (flags[i] & HALTED) continue;
      fire(i, nowP);
    }
  }
  processedSlot = lastSlot;
  if (cfg.changePerSecond > 0) applyChanges(nowP);
  if (haltWaits.length) checkHalts();
}

let changeCarry = 0;
let lastChangeAt = 0;
function applyChanges(nowP) {
  if (!lastChangeAt) lastChangeAt = nowP;
  changeCarry += ((nowP - lastChangeAt) / 1000) * cfg.changePerSecond * cfg.count;
  lastChangeAt = nowP;
  while (changeCarry >= 1) {
    changeCarry -= 1;
    const i = Math.floor(Math.random() * cfg.count);
    if (flags[i] & HALTED || !(flags[i] & REGISTERED)) continue;
    // The content changed (an ext-info value): as the agent does, the next beat is a full one.
    changePending[i] = 1;
    flags[i] |= NEED_FULL;
    win.changes++;
  }
}

function onResponse(status, body, i, sentAt) {
  const nowP = performance.now();
  pending[i]--;
  win.answered++;
  win.latency.record(Math.max(1, Math.round((nowP - sentAt) * 1000)));
  const delay = nowP - nextDue[i];
  if (delay > 0) win.delay.record(Math.max(1, Math.round(delay * 1000)));
  if (lastAnswered[i]) {
    const gap = nowP - lastAnswered[i];
    win.gaps.record(Math.max(1, Math.round(gap)));
    if (gap > win.gapMax) win.gapMax = gap;
  }
  lastAnswered[i] = nowP;
  let next = nowP + jittered();
  if (status !== 200) {
    win.errors++;
    flags[i] |= NEED_FULL;
  } else if (body.includes('"unknown"')) {
    win.unknown++;
    flags[i] |= NEED_FULL;
    next = nowP;
  } else {
    win.ok++;
    if (flags[i] & SENT_FULL) {
      // Acknowledged full beat: light beats from now on, unless the content changed again meanwhile.
      if (!changePending[i]) flags[i] &= ~NEED_FULL;
      if (!(flags[i] & REGISTERED)) {
        flags[i] |= REGISTERED;
        registeredCount++;
        win.registered++;
        if (registeredCount === cfg.count) process.send({ type: 'registered', at: Date.now() });
      }
    }
  }
  if (flags[i] & HALTED) return;
  // A beat scheduled meanwhile (a change) stays; otherwise the next one, timed from this answer.
  if (slotOf[i] === -1 && pending[i] === 0) schedule(i, next);
}

function onFailure(i) {
  const nowP = performance.now();
  pending[i]--;
  win.errors++;
  flags[i] |= NEED_FULL;
  if (!(flags[i] & HALTED) && slotOf[i] === -1 && pending[i] === 0) schedule(i, nowP + cfg.intervalMs);
}

function halt(from, to, burst) {
  const nowP = performance.now();
  for (let i = from; i < to; i++) {
    slotOf[i] = -1;
    if (burst && pending[i] === 0) fire(i, nowP);
    flags[i] |= HALTED;
  }
  haltWaits.push({ from, to });
}

function checkHalts() {
  for (let k = haltWaits.length - 1; k >= 0; k--) {
    const { from, to } = haltWaits[k];
    let busy = false;
    let lastAt = 0;
    for (let i = from; i < to; i++) {
      if (pending[i]) {
        busy = true;
        break;
      }
      if (lastAnswered[i] > lastAt) lastAt = lastAnswered[i];
    }
    if (busy) continue;
    haltWaits.splice(k, 1);
    process.send({ type: 'halted', from, to, lastAnsweredAt: performance.timeOrigin + lastAt });
  }
}

function snapshot(w, cpuMs, periodMs) {
  let queued = 0;
  let reconnects = 0;
  let disconnected = 0;
  let stalled = 0;
  const socketErrors = {};
  for (const c of conns) {
    for (const [code, n] of Object.entries(c.errorCodes)) socketErrors[code] = (socketErrors[code] ?? 0) + n;
    queued += c.pending;
    reconnects += c.reconnects;
    if (!c.connected) disconnected++;
    else if (c.inflight === 0 && c.pending > 0) stalled++;
  }
  const ms = (h) => (h.count ? h.percentile(99) / 1000 : 0);
  return {
    t: Date.now(),
    periodMs,
    sent: w.sent,
    answered: w.answered,
    ok: w.ok,
    unknown: w.unknown,
    errors: w.errors,
    full: w.full,
    changes: w.changes,
    registeredNew: w.registered,
    registered: registeredCount,
    latP50: w.latency.count ? w.latency.percentile(50) / 1000 : 0,
    latP99: ms(w.latency),
    latMax: w.latency.count ? w.latency.max / 1000 : 0,
    delayP99: ms(w.delay),
    gapP99: w.gaps.count ? w.gaps.percentile(99) : 0,
    gapMax: w.gapMax,
    queued,
    reconnects,
    disconnected,
    stalled,
    socketErrors,
    cpuPct: (100 * cpuMs) / periodMs,
    rss: process.memoryUsage.rss(),
  };
}

let cpu = process.cpuUsage();
let lastStats = performance.now();
function report() {
  const nowP = performance.now();
  const c = process.cpuUsage();
  const cpuMs = (c.user - cpu.user + c.system - cpu.system) / 1000;
  cpu = c;
  const period = nowP - lastStats;
  lastStats = nowP;
  process.send({ type: 'stats', stats: snapshot(win, cpuMs, period) });
  merge(total, win);
  resetWindow(win);
}

function merge(into, w) {
  for (const k of ['sent', 'answered', 'ok', 'registered', 'unknown', 'errors', 'full', 'changes']) into[k] += w[k];
  into.gapMax = Math.max(into.gapMax, w.gapMax);
  into.latency.add(w.latency);
  into.delay.add(w.delay);
  into.gaps.add(w.gaps);
}

function setup(config) {
  cfg = { jitter: 0.1, pipeline: 8, statsMs: 1000, timeoutMs: 10_000, changePerSecond: 0, indexBase: 0, transport: 'http', ...config };
  const Connection = cfg.transport === 'socket' ? SocketBeatConnection : BeatConnection;
  const n = cfg.count;
  ids = Array.from({ length: n }, (_, i) => instanceId(cfg.run, cfg.indexBase + i));
  nextDue = new Float64Array(n);
  slotOf = new Int32Array(n).fill(-1);
  lastSentEpoch = new Float64Array(n);
  lastAnswered = new Float64Array(n);
  changedAt = new Float64Array(n);
  changePending = new Uint8Array(n);
  flags = new Uint8Array(n).fill(NEED_FULL);
  pending = new Uint8Array(n);
  const horizon = (cfg.intervalMs * 1.5 + cfg.rampMs + 60_000) / SLOT_MS;
  const size = 2 ** Math.ceil(Math.log2(horizon));
  ring = Array.from({ length: size }, () => []);
  ringMask = size - 1;
  processedSlot = Math.floor(performance.now() / SLOT_MS);
  for (let c = 0; c < Math.min(cfg.connections, n); c++) {
    conns.push(
      new Connection({
        host: cfg.host,
        port: cfg.port,
        pipeline: cfg.pipeline,
        onResponse,
        onFailure,
      }),
    );
  }
  setInterval(() => {
    const nowP = performance.now();
    for (const c of conns) c.checkTimeout(nowP, cfg.timeoutMs);
  }, 1000);
  setInterval(report, cfg.statsMs);
  process.send({ type: 'ready' });
}

function start() {
  if (started) return;
  started = true;
  const nowP = performance.now();
  for (let i = 0; i < cfg.count; i++) schedule(i, nowP + Math.random() * cfg.rampMs);
  const loop = () => {
    tick();
    setTimeout(loop, 1);
  };
  loop();
}

process.on('message', (msg) => {
  switch (msg.type) {
    case 'config':
      setup(msg.config);
      break;
    case 'start':
      start();
      break;
    case 'halt':
      halt(msg.from ?? 0, msg.to ?? cfg.count, false);
      break;
    case 'burstHalt':
      halt(msg.from ?? 0, msg.to ?? cfg.count, true);
      break;
    case 'summary':
      merge(total, win);
      resetWindow(win);
      process.send({ type: 'summary', summary: snapshot(total, 0, 1) });
      break;
    case 'exit':
      for (const c of conns) c.close();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
