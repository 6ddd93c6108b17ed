/**
 * Processes under test and load generators: spawned pinned to one core each when taskset exists
 * (server on core 0, load on core 1), with their output kept for error messages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const benchRoot = join(repoRoot, 'bench');
export const backendMain = join(repoRoot, 'apps', 'backend', 'dist', 'main.js');
export const probeModule = fileURLToPath(new URL('./probe.mjs', import.meta.url));
export const bareServer = fileURLToPath(new URL('../servers/bare.mjs', import.meta.url));

const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
const coreCount = cpus().length;
/** Server on the first core, load generators on the second (or the same one on a 1-core machine). */
export const cores = { server: 0, load: coreCount > 1 ? 1 : 0 };
export const pinned = hasTaskset && coreCount > 1;
const running = new Set();

/** Spawns `command args` pinned to `core` (when pinning is possible). */
export function spawnPinned(core, command, args, options = {}) {
  const [cmd, argv] = pinned && core !== undefined ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  let output = '';
  const keep = (d) => {
    output += d;
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.output = () => output;
  child.done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal);
    }),
  );
  return child;
}

export function spawnNode(core, args, options = {}) {
  return spawnPinned(core, process.execPath, args, options);
}

export async function stop(child, signal = 'SIGTERM', graceMs = 30_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  // Long enough for a --cpu-prof profile to be written on exit.
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.done;
  clearTimeout(timer);
}

/** Kills whatever this bench started and is still running (on exit and on errors). */
export function killAll() {
  for (const child of running) child.kill('SIGKILL');
}
const tempDirs = new Set();
/** A fresh directory under the OS temp dir, removed when the bench exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `vigil-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}
process.on('exit', () => {
  killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitForHttp(url, child, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited early:\n${child.output()}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${child.output()}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function requireBuilt() {
  const missing = [backendMain, join(repoRoot, 'packages', 'protocol', 'dist', 'esm', 'index.js')].filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(`not built: ${missing.join(', ')}; run the bench through npm run bench:* (it builds first)`);
  }
}

let probeSeq = 0;
let probeDir;
function probeFile(name) {
  probeDir ??= tempDir('probe');
  return join(probeDir, `${name}-${++probeSeq}.jsonl`);
}

/**
 * Starts the real, built backend (apps/backend/dist/main.js) on a free port, pinned to the server
 * core. `probe: true` preloads the bench probe (see probe.mjs); `cpuProf: dir` profiles it;
 * `readyPath`: the route that answers 200 once it serves (with credentials set, `/healthz`).
 */
export async function startBackend({
  env = {},
  probe = false,
  cpuProf,
  core = cores.server,
  nodeArgs = [],
  readyPath = '/api/v1/instances',
  // Another build of the backend (e.g. an older commit's worktree, for an A/B): its main.js and root.
  main = backendMain,
  root = repoRoot,
} = {}) {
  requireBuilt();
  const port = await freePort();
  const probePath = probe ? probeFile('backend') : undefined;
  const args = [
    ...nodeArgs,
    ...(probe ? ['--import', probeModule] : []),
    ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []),
    main,
  ];
  const child = spawnNode(core, args, {
    cwd: root,
    env: {
      ...process.env,
      VIGIL_PORT: String(port),
      VIGIL_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: 'warn',
      ...(probePath ? { VIGIL_BENCH_PROBE: probePath } : {}),
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}${readyPath}`, child);
  return { name: 'backend', child, port, url, probe: probePath ? new ProbeReader(probePath) : undefined };
}

/**
 * Starts the bare node:http baseline (../servers/bare.mjs): same schema, same InstanceRegistry,
 * no framework. `flags` are passed on (e.g. --no-validate, --socket).
 */
export async function startBare({ flags = [], env = {}, probe = false, cpuProf, core = cores.server } = {}) {
  requireBuilt();
  const port = await freePort();
  const probePath = probe ? probeFile('bare') : undefined;
  const args = [
    ...(probe ? ['--import', probeModule] : []),
    ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []),
    bareServer,
    '--port',
    String(port),
    ...flags,
  ];
  const child = spawnNode(core, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...(probePath ? { VIGIL_BENCH_PROBE: probePath } : {}),
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);
  return { name: 'bare', child, port, url, probe: probePath ? new ProbeReader(probePath) : undefined };
}

/** Reads the JSON lines a probe appends, incrementally. */
export class ProbeReader {
  constructor(file) {
    this.file = file;
    this.offset = 0;
    this.samples = [];
  }

  poll() {
    let text;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return this.samples;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end > this.offset) {
      for (const line of text.slice(this.offset, end).split('\n')) {
        if (line) this.samples.push(JSON.parse(line));
      }
      this.offset = end;
    }
    return this.samples;
  }

  get latest() {
    return this.poll().at(-1);
  }

  /** Waits for the probe's next line (at most ~2 periods) and returns all samples. */
  async next(timeoutMs = 3000) {
    const seen = this.poll().length;
    const deadline = Date.now() + timeoutMs;
    while (this.poll().length === seen && Date.now() < deadline) await sleep(50);
    return this.samples;
  }
}

/** CPU time (user + system, ms) a process has used so far, from /proc; NaN where unavailable. */
export function cpuTimeMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes, from /proc; NaN where unavailable. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** The pid of the process taskset exec'd into (the same pid: taskset execs in place). */
export const pidOf = (child) => child.pid;

/** Now on the clock V8's CPU profiles use (CLOCK_MONOTONIC, microseconds), to cut a profile to a window. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
