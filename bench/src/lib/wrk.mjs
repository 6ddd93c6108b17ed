import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cores, cpuTimeMs, spawnPinned } from './processes.mjs';

export const beatsLua = fileURLToPath(new URL('../lua/beats.lua', import.meta.url));

export function wrkInstalled() {
  const result = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return !result.error;
}

export function requireWrk() {
  if (!wrkInstalled()) throw new Error('wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)');
}

/**
 * Runs Debian's wrk on the load core against `url` and returns
 * { rps, p50, p99, max, errors, requests, cpuPct } (latencies in ms; cpuPct = wrk's CPU use, % of
 * one core, sampled from /proc, to show whether wrk itself was saturated). Non-2xx answers and
 * socket errors count as errors. With `serverPid`, also the server's CPU time during the run:
 * serverCpuPct (its share of a core; below 100 while saturated means other processes took the
 * rest) and perCpuS (requests per CPU-second of the server: throughput on a whole core).
 */
export async function runWrk({ url, script, env, durationS, connections = 64, threads = 1, core = cores.load, serverPid }) {
  requireWrk();
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${durationS}s`, '--latency'];
  if (script) args.push('-s', script);
  args.push(url);
  const child = spawnPinned(core, 'wrk', args, { env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let cpu = 0;
  const sampler = setInterval(() => {
    const c = cpuTimeMs(child.pid);
    if (Number.isFinite(c)) cpu = c;
  }, 100);
  const started = performance.now();
  const server0 = serverPid ? cpuTimeMs(serverPid) : NaN;
  const code = await child.done;
  const serverMs = serverPid ? cpuTimeMs(serverPid) - server0 : NaN;
  clearInterval(sampler);
  const elapsed = performance.now() - started;
  if (code !== 0) throw new Error(`wrk failed (${code}): ${child.output()}`);
  const parsed = parseWrk(out);
  return {
    ...parsed,
    cpuPct: (100 * cpu) / elapsed,
    serverCpuPct: (100 * serverMs) / elapsed,
    perCpuS: parsed.requests / (serverMs / 1000),
  };
}

const toMs = (value, unit) => Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);

export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\b`, 'm').exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const maxMatch = /Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output:\n${out}`);
  return { rps, p50: pct(50), p99: pct(99), max: maxMatch ? toMs(maxMatch[1], maxMatch[2]) : NaN, errors, requests };
}
