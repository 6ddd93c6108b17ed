/**
 * Parent side of the fleet simulator: starts `workers` loadgen-worker processes on the load core,
 * gives each a contiguous range of instances, and merges their per-second stats.
 */
import { fileURLToPath } from 'node:url';
import { cores, spawnNode, stop } from './processes.mjs';

const workerFile = fileURLToPath(new URL('./loadgen-worker.mjs', import.meta.url));

/**
 * @param {{ port: number, host?: string, instances: number, connections?: number, pipeline?: number,
 *   intervalMs?: number, rampMs?: number, changePerSecond?: number, workers?: number, run?: number,
 *   core?: number, heapMb?: number, transport?: 'http' | 'socket' }} options
 */
export async function startFleet(options) {
  const {
    port,
    host = '127.0.0.1',
    instances,
    connections = 1000,
    pipeline = 8,
    intervalMs = 5000,
    rampMs = intervalMs,
    changePerSecond = 0,
    // Runtime metrics in every beat and a health report in full beats, as agents send by default.
    metrics = true,
    workers = 1,
    run = (Date.now() ^ (process.pid << 8)) >>> 0,
    core = cores.load,
    transport = 'http',
  } = options;
  const procs = [];
  const windows = []; // windows[k] = per-worker stats of the k-th second
  const listeners = new Set();
  let registeredWorkers = 0;
  let resolveRegistered;
  const registered = new Promise((resolve) => (resolveRegistered = resolve));
  const per = Math.ceil(instances / workers);
  for (let w = 0; w < workers; w++) {
    const from = w * per;
    const count = Math.max(0, Math.min(per, instances - from));
    if (count === 0) break;
    const child = spawnNode(core, [`--max-old-space-size=${options.heapMb ?? 4096}`, workerFile], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const proc = { child, from, count, seen: 0, pending: new Map() };
    child.on('message', (msg) => {
      if (msg.type === 'stats') {
        const k = proc.seen++;
        (windows[k] ??= [])[procs.indexOf(proc)] = msg.stats;
        if (windows[k].filter(Boolean).length === procs.length) {
          const merged = mergeStats(windows[k]);
          for (const l of listeners) l(merged);
        }
      } else if (msg.type === 'registered') {
        if (++registeredWorkers === procs.length) resolveRegistered(msg.at);
      } else {
        const waiter = proc.pending.get(msg.type);
        if (waiter) {
          proc.pending.delete(msg.type);
          waiter(msg);
        }
      }
    });
    procs.push(proc);
  }
  const request = (proc, message, reply) =>
    new Promise((resolve, reject) => {
      proc.pending.set(reply, resolve);
      proc.child.once('exit', () => reject(new Error(`load generator exited:\n${proc.child.output()}`)));
      proc.child.send(message);
    });
  await Promise.all(
    procs.map((proc) =>
      request(
        proc,
        {
          type: 'config',
          config: {
            host,
            port,
            count: proc.count,
            indexBase: proc.from,
            run,
            connections: Math.ceil(connections / procs.length),
            pipeline,
            intervalMs,
            rampMs,
            changePerSecond,
            transport,
            metrics,
          },
        },
        'ready',
      ),
    ),
  );
  return {
    run,
    pids: procs.map((p) => p.child.pid),
    registered,
    onStats(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      for (const p of procs) p.child.send({ type: 'start' });
    },
    /** Stops the beats of instances [from, to) (after one more beat each with burst); resolves when none is in flight. */
    async halt(from, to, burst = false) {
      const replies = await Promise.all(
        procs
          .filter((p) => p.from < to && p.from + p.count > from)
          .map((p) =>
            request(
              p,
              { type: burst ? 'burstHalt' : 'halt', from: Math.max(0, from - p.from), to: Math.min(p.count, to - p.from) },
              'halted',
            ),
          ),
      );
      return { lastAnsweredAt: Math.max(...replies.map((r) => r.lastAnsweredAt)) };
    },
    async summary() {
      const replies = await Promise.all(procs.map((p) => request(p, { type: 'summary' }, 'summary')));
      return mergeStats(replies.map((r) => r.summary));
    },
    async stop() {
      for (const p of procs) if (p.child.connected) p.child.send({ type: 'exit' });
      await Promise.all(procs.map((p) => stop(p.child)));
    },
  };
}

function mergeStats(list) {
  const sum = (k) => list.reduce((s, x) => s + (x?.[k] ?? 0), 0);
  const max = (k) => Math.max(...list.map((x) => x?.[k] ?? 0));
  return {
    t: max('t'),
    periodMs: max('periodMs'),
    sent: sum('sent'),
    answered: sum('answered'),
    ok: sum('ok'),
    unknown: sum('unknown'),
    errors: sum('errors'),
    full: sum('full'),
    changes: sum('changes'),
    registered: sum('registered'),
    // Percentiles of several workers: the worst of them (an upper bound).
    latP50: max('latP50'),
    latP99: max('latP99'),
    latMax: max('latMax'),
    delayP99: max('delayP99'),
    gapP99: max('gapP99'),
    gapMax: max('gapMax'),
    queued: sum('queued'),
    reconnects: sum('reconnects'),
    disconnected: sum('disconnected'),
    stalled: sum('stalled'),
    socketErrors: list.reduce((acc, x) => {
      for (const [code, n] of Object.entries(x?.socketErrors ?? {})) acc[code] = (acc[code] ?? 0) + n;
      return acc;
    }, {}),
    cpuPct: sum('cpuPct'),
    rss: sum('rss'),
  };
}
