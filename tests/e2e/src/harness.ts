import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FullBeat, Instance, InstanceList } from '@vigil/protocol';

const require = createRequire(import.meta.url);
export const repoRoot = join(dirname(require.resolve('@vigil/backend/package.json')), '..', '..');
export const backendMain = join(repoRoot, 'apps', 'backend', 'dist', 'main.js');
export const demoDir = join(repoRoot, 'examples', 'demo-service');

/**
 * A valid full beat of `instanceId` as an agent sends it, sent now; `fields` replace any of its
 * fields (`artifact` follows `service` unless given).
 */
export function fullBeat(instanceId: string, fields: Partial<FullBeat> = {}): FullBeat {
  const service = fields.service ?? 'e2e-service';
  return {
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: Date.now(),
    lastHeartbeatTime: null,
    service,
    appName: 'e2e',
    artifact: service,
    appType: 'default',
    hostName: `host-${instanceId}`,
    ip: ['10.1.2.3'],
    processId: 4242,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [],
    ...fields,
  };
}

/** A process started by a test, with its output kept for assertions and failure messages. */
export interface Proc {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
/** Processes started as the leader of a process group of their own, killed with their whole group. */
const leaders = new Set<ChildProcess>();

/**
 * `group`: the process leads a process group of its own, and killAll kills the group, for a
 * command that starts others (npm, a launcher) which a kill of the command alone would orphan.
 */
export function startProcess(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; group?: boolean }): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
    detached: options.group === true,
  });
  running.add(child);
  if (options.group === true) leaders.add(child);
  let out = '';
  let all = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    all += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    all += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => all, stdout: () => out, exited };
}

/** Kills whatever a test left running. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  for (const { pid } of leaders) {
    if (pid === undefined) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group has ended already.
    }
  }
  leaders.clear();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export interface Backend extends Proc {
  url: string;
  instances(): Promise<InstanceList>;
  instance(id: string): Promise<Instance | undefined>;
}

/** With `VIGIL_API_TOKENS` set, the harness reads the instance list with the first token (without its `:name`). */
function apiHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const token = env.VIGIL_API_TOKENS?.split(',')[0]?.split(':')[0]?.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Waits for a backend to answer; a start on a machine loaded by other runs can take long. Fails with its output. */
async function listening(proc: Proc, instances: () => Promise<InstanceList>): Promise<void> {
  try {
    await waitFor('the backend to listen', async () => (await instances()) && true, 60_000);
  } catch (error) {
    throw new Error(`${(error as Error).message} (backend output: ${proc.output()})`, { cause: error });
  }
}

/** Starts the real, built backend (apps/backend/dist/main.js) on a free port. */
export async function startBackend(env: NodeJS.ProcessEnv = {}): Promise<Backend> {
  const port = await freePort();
  const proc = startProcess(process.execPath, [backendMain], {
    env: { VIGIL_PORT: String(port), VIGIL_HOST: '127.0.0.1', ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  const headers = apiHeaders(env);
  const instances = async (): Promise<InstanceList> => {
    const response = await fetch(`${url}/api/v1/instances`, { headers });
    if (!response.ok) throw new Error(`GET /api/v1/instances answered ${response.status}`);
    return (await response.json()) as InstanceList;
  };
  await listening(proc, instances);
  return {
    ...proc,
    url,
    instances,
    instance: async (id) => (await instances()).instances.find((i) => i.instanceId === id),
  };
}

export interface AgentApp extends Proc {
  /** The instance the backend shows for this process, once it has one. */
  pid: number;
}

/**
 * Writes a small service (ESM or CommonJS) in a temp dir with a vigil/config.properties, and
 * runs it under the real agent with `--import` or `--require`.
 */
export function startAgentApp(options: {
  moduleSystem: 'esm' | 'cjs';
  service: string;
  backendUrl: string;
  intervalMs: number;
  /** More agent settings, as `VIGIL_*` variables (e.g. `VIGIL_AGENT_TOKEN`). */
  env?: NodeJS.ProcessEnv;
}): AgentApp {
  const dir = mkdtempSync(join(tmpdir(), `vigil-e2e-${options.moduleSystem}-`));
  mkdirSync(join(dir, 'vigil'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      `service.name=${options.service}`,
      'app.name=e2e',
      `heartbeat.interval=${options.intervalMs}`,
      `backend.url=${options.backendUrl}`,
      `plugins.dir=${join(repoRoot, 'plugins')}`,
      'plugins=template',
      '',
    ].join('\n'),
  );
  const server = `server.listen(0, '127.0.0.1', () => console.log('app listening'));`;
  const file = options.moduleSystem === 'esm' ? 'app.mjs' : 'app.cjs';
  writeFileSync(
    join(dir, file),
    options.moduleSystem === 'esm'
      ? `import { createServer } from 'node:http';\nconst server = createServer((req, res) => res.end('ok'));\n${server}\n`
      : `const { createServer } = require('node:http');\nconst server = createServer((req, res) => res.end('ok'));\n${server}\n`,
  );
  const flag = options.moduleSystem === 'esm' ? '--import' : '--require';
  const proc = startProcess(process.execPath, [flag, require.resolve('@vigil/agent/register'), file], { cwd: dir, env: options.env });
  return { ...proc, pid: proc.child.pid ?? -1 };
}

/** Finds the instance of a process by its pid. */
export async function instanceOfPid(backend: Backend, pid: number): Promise<Instance | undefined> {
  return (await backend.instances()).instances.find((i) => i.processId === pid);
}

/** The real, built backend on a port chosen beforehand: one an agent was told to beat to before the backend existed. */
export async function startBackendOnPort(port: number, env: NodeJS.ProcessEnv = {}): Promise<Backend> {
  const proc = startProcess(process.execPath, [backendMain], {
    env: { VIGIL_PORT: String(port), VIGIL_HOST: '127.0.0.1', ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  const headers = apiHeaders(env);
  const instances = async (): Promise<InstanceList> => {
    const response = await fetch(`${url}/api/v1/instances`, { headers });
    if (!response.ok) throw new Error(`GET /api/v1/instances answered ${response.status}`);
    return (await response.json()) as InstanceList;
  };
  await listening(proc, instances);
  return {
    ...proc,
    url,
    instances,
    instance: async (id) => (await instances()).instances.find((i) => i.instanceId === id),
  };
}

/** The Redis the redis-store tests use (shared on this machine: every test run uses its own key prefix). */
export const TEST_REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Answers whether a Redis server answers PING at `url`, over a plain socket. */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** Fails the tests that need Redis, naming it, when it does not answer: they never skip. */
export async function requireRedis(what: string): Promise<void> {
  if (await redisAnswers(TEST_REDIS_URL)) return;
  throw new Error(
    `${what} need Redis at ${TEST_REDIS_URL}, which does not answer (start redis-server, or set VIGIL_TEST_REDIS_URL to use another)`,
  );
}

/** A Redis server of the test's own on a free port, without persistence: restarting it starts it empty. */
export async function startRedisServer(port: number): Promise<Proc> {
  const proc = startProcess(
    process.env.REDIS_SERVER ?? '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
  );
  await waitFor(
    `redis-server to answer on ${port} (output: ${proc.output()})`,
    async () => ((await redisAnswers(`redis://127.0.0.1:${port}`)) ? true : undefined),
    10_000,
  );
  return proc;
}
