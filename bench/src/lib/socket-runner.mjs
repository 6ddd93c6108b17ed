import { fileURLToPath } from 'node:url';
import { cores, cpuTimeMs, spawnPinned } from './processes.mjs';

const script = fileURLToPath(new URL('./socket-load.mjs', import.meta.url));

/**
 * Runs socket-load.mjs (the beat socket's load generator) on the load core against `url` and
 * returns what runWrk returns: { rps, p50, p99, max, errors, requests, cpuPct } and, with
 * `serverPid`, serverCpuPct and perCpuS (beats per CPU-second of the server).
 */
export async function runSocketLoad({ url, bodiesFile, durationS, connections = 64, inflight = 1, core = cores.load, serverPid }) {
  const child = spawnPinned(core, process.execPath, [script, url, bodiesFile, String(durationS), String(connections), String(inflight)]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // The sockets open before the clock starts; the server's CPU is counted over the whole run,
  // which the set-up of 64 sockets barely touches.
  const server0 = serverPid ? cpuTimeMs(serverPid) : NaN;
  const started = performance.now();
  const code = await child.done;
  const elapsed = performance.now() - started;
  const serverMs = serverPid ? cpuTimeMs(serverPid) - server0 : NaN;
  if (code !== 0) throw new Error(`socket-load failed (${code}): ${child.output()}`);
  const result = JSON.parse(out.trim().split('\n').at(-1));
  return { ...result, serverCpuPct: (100 * serverMs) / elapsed, perCpuS: result.requests / (serverMs / 1000) };
}
