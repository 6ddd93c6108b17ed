/**
 * The agent as users attach it: real child processes started with --import / --require /
 * NODE_OPTIONS, the built agent (dist) and the built template plugin, beating to a small
 * backend stand-in. Needs `npm run build` for @vigil/agent and @vigil/plugin-template first
 * (turbo builds before test).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FullBeat, Heartbeat } from '@vigil/protocol/types';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const agentRoot = path.resolve(__dirname, '..');
const register = path.join(agentRoot, 'dist', 'register.js');
const pluginsDir = path.resolve(agentRoot, '..', '..', 'plugins');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A backend stand-in recording every beat. */
async function backend(): Promise<{ url: string; beats: Heartbeat[] }> {
  const beats: Heartbeat[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const beat = JSON.parse(body) as Heartbeat;
      beats.push(beat);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: beat.kind === 'full' ? 'registered' : 'renewed', serverTime: Date.now() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, beats };
}

/** A temp app folder with `files` and a vigil/config.properties. */
function appDir(files: Record<string, string>, properties: Record<string, string | number>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-app-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  mkdirSync(path.join(dir, 'vigil'));
  const lines = Object.entries({ 'plugins.dir': pluginsDir, plugins: 'template', ...properties }).map(
    ([key, value]) => `${key}=${value}`,
  );
  writeFileSync(path.join(dir, 'vigil', 'config.properties'), `${lines.join('\n')}\n`);
  return dir;
}

/** Starts `node <args>` in `cwd`, without any VIGIL_* or NODE_OPTIONS of ours leaking in. */
function run(cwd: string, args: string[], env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('VIGIL_') && key !== 'NODE_OPTIONS'),
  );
  const child = spawn(process.execPath, args, { cwd, env: { ...inherited, ...env } });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const startedAt = Date.now();
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, ms: Date.now() - startedAt })),
  );
  cleanups.push(() => {
    child.kill();
    return exited;
  });
  return { child, output, exited };
}

const startLines = (stderr: string) => stderr.match(/vigil agent \S+ started: /g) ?? [];

const listeningApps = {
  esm: {
    file: 'app.mjs',
    flag: ['--import', pathToFileURL(register).href],
    source: [
      "import { createServer } from 'node:http';",
      "createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => console.log('app listening'));",
    ].join('\n'),
  },
  cjs: {
    file: 'app.cjs',
    flag: ['--require', register],
    source: [
      "const http = require('node:http');",
      "http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => console.log('app listening'));",
    ].join('\n'),
  },
};

describe('register', () => {
  beforeAll(() => {
    for (const built of [register, path.join(pluginsDir, 'template', 'dist', 'index.js')]) {
      if (!existsSync(built)) throw new Error(`${built} is missing: build @vigil/agent and @vigil/plugin-template first`);
    }
  });

  it.each(Object.entries(listeningApps))(
    'attaches to a %s app: template plugin loaded, full then light beats, stdout untouched',
    async (kind, app) => {
      const { url, beats } = await backend();
      const cwd = appDir({ [app.file]: app.source }, { 'service.name': `${kind}-app`, 'heartbeat.interval': 100, 'backend.url': url });
      const { child, output } = run(cwd, [...app.flag, app.file]);

      const started = (beat: Heartbeat) =>
        beat.kind === 'full' && beat.plugins.some((plugin) => plugin.extInfo.status === 'started');
      await vi.waitFor(
        () => {
          const at = beats.findIndex(started);
          expect(at).toBeGreaterThanOrEqual(0);
          expect(beats.length).toBeGreaterThanOrEqual(at + 3);
        },
        { timeout: 10_000, interval: 50 },
      );

      const first = beats[0] as FullBeat;
      expect(first).toMatchObject({
        v: 1,
        kind: 'full',
        lastHeartbeatTime: null,
        service: `${kind}-app`,
        artifact: `${kind}-app`,
        appName: 'default',
        processId: child.pid,
        dynamicInstall: false,
        version: '0.1.0',
      });
      expect(first.instanceId).toMatch(/^[0-9a-f-]{36}$/);
      const at = beats.findIndex(started);
      expect((beats[at] as FullBeat).plugins).toEqual([{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }]);
      for (const later of beats.slice(at + 1)) {
        expect(later).toMatchObject({ kind: 'light', instanceId: first.instanceId });
      }
      expect(output.stdout).toBe('Good morning!\napp listening\n');
      expect(startLines(output.stderr)).toHaveLength(1);
      expect(output.stderr).toContain(`service=${kind}-app instance=${first.instanceId} backend=${url} plugins=template`);
    },
    20_000,
  );

  it('lets a short-lived app exit normally with the backend unreachable, and starts once when loaded twice', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const cwd = appDir({ 'app.mjs': "console.log('done');\n" }, { 'backend.url': `http://127.0.0.1:${port}` });
    // --require and NODE_OPTIONS=--import both load the agent: the second load must be a no-op.
    const { output, exited } = run(cwd, ['--require', register, 'app.mjs'], {
      NODE_OPTIONS: `--import ${pathToFileURL(register).href}`,
    });
    const { code } = await exited;
    expect(code).toBe(0);
    expect(output.stdout).toBe('done\n');
    expect(startLines(output.stderr)).toHaveLength(1);
  }, 20_000);

  it('does not keep the app alive while a beat waits on a backend that never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });

    const cwd = appDir(
      { 'app.mjs': "setTimeout(() => console.log('done'), 300);\n" },
      // The beat's deadline is min(interval, 10 s): far longer than the app lives.
      { 'backend.url': `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 'heartbeat.interval': 10_000 },
    );
    const { output, exited } = run(cwd, ['--import', pathToFileURL(register).href, 'app.mjs']);
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(output.stdout).toBe('done\n');
    expect(sockets.length).toBeGreaterThanOrEqual(1);
    expect(ms).toBeLessThan(5000);
  }, 20_000);
});
