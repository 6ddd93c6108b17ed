/**
 * Counting the work of a service instead of timing it: the service runs under valgrind's
 * callgrind, which counts the instructions each thread executes, so the count of a fixed number
 * of requests does not depend on what else runs on a shared machine. The service is warmed up
 * by `warmup` requests, its counters are zeroed (`callgrind_control -z`), `requests` more are sent
 * by a client in this process, the counters are dumped (`callgrind_control -d`) and read.
 *
 * Separated, because they vary for different reasons:
 * - main thread outside GC: JavaScript and node's native code serving the requests; repeatable
 *   to a fraction of a per cent, so the figure that shows code added to the request path;
 * - main-thread GC (inclusive of `Heap::CollectGarbage`): in steps of one scavenge, whose count
 *   V8 decides from allocation rate (time-dependent, and time runs ~50x slower under valgrind);
 * - other threads (V8's compiler and GC helpers): depend on when concurrent jobs run.
 * `--smc-check=all-non-file` makes valgrind notice V8 rewriting its JIT code; without it node crashes or runs stale code.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendAll } from './http-client.mjs';
import { cores, sleep, spawnPinned, stop, tempDir } from './processes.mjs';

export function callgrindInstalled() {
  return !spawnSync('valgrind', ['--version']).error && !spawnSync('callgrind_control', ['-h']).error;
}

const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

function control(pid, flag) {
  const result = spawnSync('callgrind_control', [flag, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0 || !/OK/.test(result.stdout))
    throw new Error(`callgrind_control ${flag} ${pid} failed: ${result.stdout}${result.stderr}`);
}

/**
 * Instructions of a node service (`nodeArgs` + `script`, env `env`, listening on PORT and printing
 * `listening <port>`) serving `requests` GETs on `path` after `warmup` ones, over `connections`
 * keep-alive connections. Returns per-request instruction counts and the scavenges counted.
 */
export async function countInstructions({
  nodeArgs = [],
  script,
  env = {},
  cwd,
  path = '/',
  warmup = 5000,
  requests = 5000,
  connections = 8,
  // More valgrind flags, e.g. `--cache-sim=yes` (simulated cache misses) or `--collect-systime=nsec`
  // (system calls and their time): their events are in `events` / `otherEvents` (totals per thread kind).
  valgrindArgs = [],
}) {
  const dir = tempDir('callgrind');
  const out = join(dir, 'callgrind.out');
  const argv = [
    '--tool=callgrind',
    '--smc-check=all-non-file',
    '--separate-threads=yes',
    ...valgrindArgs,
    `--callgrind-out-file=${out}`,
    process.execPath,
    ...nodeArgs,
    script,
  ];
  const child = spawnPinned(cores.server, 'valgrind', argv, { cwd, env: { ...process.env, PORT: '0', ...env } });
  try {
    let port;
    const deadline = Date.now() + 180_000;
    while (!port && child.exitCode === null && Date.now() < deadline) {
      port = /listening (\d+)/.exec(child.output())?.[1];
      await sleep(100);
    }
    if (!port) throw new Error(`the service did not listen under valgrind:\n${child.output().slice(-2000)}`);
    const request = GET.replace('/', path);
    const send = (n) =>
      sendAll({
        host: '127.0.0.1',
        port: Number(port),
        requests: new Array(n).fill(request),
        connections,
        pipeline: 1,
        timeoutMs: 900_000,
      });
    const answers = await send(warmup);
    if (answers.some((body) => body.startsWith('HTTP ')))
      throw new Error(`the service answered with errors: ${answers.find((b) => b.startsWith('HTTP '))}`);
    control(child.pid, '-z');
    await send(requests);
    control(child.pid, '-d');
  } finally {
    await stop(child, 'SIGKILL');
  }
  const files = readdirSync(dir).filter((f) => /^callgrind\.out\.1-\d+$/.test(f));
  let main;
  let mainFile;
  let others = 0;
  const otherEvents = {};
  for (const file of files) {
    const counts = readCounts(join(dir, file));
    if (file.endsWith('-01')) {
      main = counts;
      mainFile = join(dir, file);
    } else {
      others += counts.total;
      for (const [event, value] of Object.entries(counts.events)) otherEvents[event] = (otherEvents[event] ?? 0) + value;
    }
  }
  if (!main) throw new Error(`no callgrind dump of the main thread in ${dir}`);
  return {
    requests,
    mainPerRequest: main.total / requests,
    gcPerRequest: main.gc / requests,
    outsideGcPerRequest: (main.total - main.gc) / requests,
    otherThreadsPerRequest: others / requests,
    allPerRequest: (main.total + others) / requests,
    scavenges: main.scavenges,
    /** Every event's total (Ir, and with valgrindArgs D1mr, DLmr, sysCount...): the main thread's, the other threads'. */
    events: main.events,
    otherEvents,
    dir,
    /** The main thread's dump, and the pid (node's `--perf-basic-prof` writes /tmp/perf-<pid>.map). */
    mainFile,
    pid: child.pid,
  };
}

/**
 * A thread's total, the inclusive cost of V8's GC entry (`Heap::CollectGarbage`), and the number
 * of scavenges, read from a callgrind dump: the summary line, and the `calls=` lines under each
 * call to a function, whose second line holds the inclusive cost.
 */
export function readCounts(file) {
  const names = new Map();
  let total = 0;
  let gc = 0;
  let scavenges = 0;
  let eventNames = [];
  const events = {};
  let caller = '';
  let callee;
  let pendingCall;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (pendingCall !== undefined) {
      // The line after `calls=`: "<position> <inclusive cost>".
      const cost = Number(line.split(' ')[1] ?? 0);
      if (pendingCall === 'gc') gc += cost;
      pendingCall = undefined;
      continue;
    }
    if (line.startsWith('events: ')) {
      eventNames = line.slice(8).trim().split(/\s+/);
      continue;
    }
    const summary = /^summary: (\d+)/.exec(line);
    if (summary) {
      total = Number(summary[1]);
      line
        .slice(9)
        .trim()
        .split(/\s+/)
        .forEach((value, i) => (events[eventNames[i] ?? `e${i}`] = Number(value)));
      continue;
    }
    const fn = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (fn) {
      if (fn[3] !== undefined) names.set(fn[2], fn[3]);
      if (fn[1] === 'cfn') {
        callee = names.get(fn[2]);
      } else {
        caller = names.get(fn[2]) ?? '';
        callee = undefined;
      }
      continue;
    }
    const calls = /^calls=(\d+)/.exec(line);
    if (calls && callee !== undefined) {
      if (callee.includes('ScavengerCollector::CollectGarbage()')) scavenges += Number(calls[1]);
      // Only calls from outside the GC, so nested GC entries are not counted twice.
      pendingCall = callee.startsWith('v8::internal::Heap::CollectGarbage(') && !caller.includes('v8::internal::Heap::') ? 'gc' : 'other';
      callee = undefined;
    }
  }
  return { total, gc, scavenges, events };
}

/**
 * Self cost (instructions) of every function of one callgrind dump, by name. A cost line belongs
 * to the current `fn=` unless it follows a `calls=` line (then it is the call's inclusive cost).
 * Functions callgrind has no symbol for (V8's JIT code) are named by address (`0x...`); `perfMap`
 * (the lines of `/tmp/perf-<pid>.map` that `node --perf-basic-prof` writes) names them, the
 * last entry written for an address winning (V8 reuses code space).
 */
export function readSelfCosts(file, perfMap) {
  const names = new Map();
  const self = new Map();
  let current;
  let afterCalls = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (afterCalls) {
      afterCalls = false;
      continue;
    }
    const c = line.charCodeAt(0);
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      if (current === undefined) continue;
      const cost = Number(line.split(' ')[1] ?? 0);
      self.set(current, (self.get(current) ?? 0) + cost);
      continue;
    }
    if (line.startsWith('calls=')) {
      afterCalls = true;
      continue;
    }
    const fn = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
    if (fn) {
      if (fn[2] !== undefined) names.set(fn[1], fn[2]);
      current = names.get(fn[1]);
      continue;
    }
    const cfn = /^cfn=\((\d+)\) (.*)$/.exec(line);
    if (cfn) names.set(cfn[1], cfn[2]);
  }
  if (!perfMap) return self;
  const symbols = perfSymbols(perfMap);
  const named = new Map();
  for (const [name, cost] of self) {
    const jit = /^0x([0-9a-f]+)$/i.exec(name) ? symbols(Number.parseInt(name.slice(2), 16)) : undefined;
    const key = jit ?? name;
    named.set(key, (named.get(key) ?? 0) + cost);
  }
  return named;
}

/** A lookup address -> name over the lines of a perf map ("<start hex> <size hex> <name>"). */
function perfSymbols(text) {
  const entries = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/i.exec(line);
    if (m)
      entries.push({
        start: Number.parseInt(m[1], 16),
        end: Number.parseInt(m[1], 16) + Number.parseInt(m[2], 16),
        name: m[3],
        order: entries.length,
      });
  }
  const byStart = [...entries].sort((a, b) => a.start - b.start || a.order - b.order);
  return (address) => {
    // Entries are small and rarely overlap: scan back from the last start <= address.
    let lo = 0;
    let hi = byStart.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (byStart[mid].start <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    let best;
    for (let i = hi; i >= 0 && i > hi - 64; i--) {
      const e = byStart[i];
      if (address < e.end && (!best || e.order > best.order)) best = e;
    }
    return best ? `JIT ${best.name}` : undefined;
  };
}

/** The part of a thread's self costs spent in V8's megamorphic inline-cache builtins. */
export function megamorphicCost(selfCosts) {
  let sum = 0;
  for (const [name, cost] of selfCosts) if (/^Builtins_\w*IC_Megamorphic/.test(name)) sum += cost;
  return sum;
}
