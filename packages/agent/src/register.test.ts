/**
 * The agent as users attach it: real child processes started with --import / --require /
 * NODE_OPTIONS, the built agent (dist) and the built template plugin, beating to a small
 * backend stand-in.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FullBeat, Heartbeat } from './protocol';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { backendStandIn, type StandIn } from './test-support/backend-stand-in';
import { agentRoot, attach, requireBuilt, runNode, startLines, type NodeRun } from './test-support/node-process';

const pluginsDir = path.resolve(agentRoot, '..', '..', 'plugins');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(): Promise<StandIn> {
  const standIn = await backendStandIn();
  cleanups.push(standIn.close);
  return standIn;
}

/** A temp app folder with `files` and a vigil/config.properties. */
function appDir(files: Record<string, string>, properties: Record<string, string | number>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-app-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  mkdirSync(path.join(dir, 'vigil'));
  const lines = Object.entries({ 'plugins.dir': pluginsDir, plugins: 'template', ...properties }).map(([key, value]) => `${key}=${value}`);
  writeFileSync(path.join(dir, 'vigil', 'config.properties'), `${lines.join('\n')}\n`);
  return dir;
}

function run(cwd: string, args: string[], env: Record<string, string> = {}): NodeRun {
  const started = runNode(cwd, args, env);
  cleanups.push(() => started.stop());
  return started;
}

const listeningApps = {
  esm: {
    file: 'app.mjs',
    source: [
      "import { createServer } from 'node:http';",
      "createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => console.log('app listening'));",
    ].join('\n'),
  },
  cjs: {
    file: 'app.cjs',
    source: [
      "const http = require('node:http');",
      "http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => console.log('app listening'));",
    ].join('\n'),
  },
};

describe('register', () => {
  beforeAll(() => requireBuilt(path.join(pluginsDir, 'template', 'dist', 'index.js')));

  it.each(Object.entries(listeningApps) as ['esm' | 'cjs', (typeof listeningApps)['esm']][])(
    'attaches to a %s app: template plugin loaded, full then light beats, stdout untouched',
    async (kind, app) => {
      const standIn = await backend();
      const cwd = appDir(
        { [app.file]: app.source },
        { 'service.name': `${kind}-app`, 'heartbeat.interval': 100, 'backend.url': standIn.url },
      );
      const { child, stdout, stderr } = run(cwd, [...attach[kind], app.file]);

      const started = (beat: Heartbeat) => beat.kind === 'full' && beat.plugins.some((plugin) => plugin.extInfo.status === 'started');
      await vi.waitFor(
        () => {
          const beats = standIn.beats();
          const at = beats.findIndex(started);
          expect(at).toBeGreaterThanOrEqual(0);
          expect(beats.length).toBeGreaterThanOrEqual(at + 3);
        },
        { timeout: 10_000, interval: 50 },
      );

      const beats = standIn.beats();
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
      expect((beats[at] as FullBeat).plugins).toEqual([
        {
          name: 'template',
          version: '1.2.0',
          extInfo: { status: 'started' },
          // Its one setting, at its default: no configuration from the backend applied yet.
          settings: { greeting: { type: 'string', default: 'Good morning!', description: expect.any(String) } },
          configVersion: 0,
        },
      ]);
      // The template's health indicator, set in the same hook, rides the same beat.
      expect((beats[at] as FullBeat).health).toEqual({
        status: 'up',
        indicators: { template: { status: 'up', details: { listeningSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } } },
      });
      for (const later of beats.slice(at + 1)) {
        expect(later).toMatchObject({ kind: 'light', instanceId: first.instanceId });
      }
      expect(stdout()).toBe('Good morning!\napp listening\n');
      // Over the beat socket from the first beat on, as with the real backend; and the first
      // events (agent.started) ride the first beat.
      expect(standIn.received[0]?.via).toBe('socket');
      expect((standIn.received[0]?.body as FullBeat).events?.map((event) => event.type)).toContain('agent.started');
      expect(startLines(stderr())).toHaveLength(1);
      expect(stderr()).toContain(`service=${kind}-app instance=${first.instanceId} backend=${standIn.url} plugins=template`);
    },
    20_000,
  );

  it.each(['esm', 'cjs'] as const)(
    'keeps ws and pino off the start-up of a %s app, and beats at its start, not an interval later',
    async (kind) => {
      const standIn = await backend();
      const loaded = [
        'const cache = Object.keys(require.cache);',
        'const loaded = (name) => cache.some((file) => file.includes(`/node_modules/${name}/`));',
        "console.log(`at listen: ws ${loaded('ws')}, pino ${loaded('pino')}`);",
      ];
      const source =
        kind === 'esm'
          ? [
              "import { createServer } from 'node:http';",
              "import { createRequire } from 'node:module';",
              'const require = createRequire(import.meta.url);',
            ]
          : ["const { createServer } = require('node:http');"];
      // The app answers with the ws files loaded by then, and whether any of undici is.
      const files =
        "{ ws: Object.keys(require.cache).filter((file) => file.includes('/node_modules/ws/')).map((file) => file.split('/node_modules/ws/')[1]), undici: Object.keys(require.cache).some((file) => file.includes('/node_modules/undici/')) }";
      const app = [
        ...source,
        `const server = createServer((req, res) => res.end(JSON.stringify(${files})));`,
        "server.listen(0, '127.0.0.1', () => {",
        ...loaded,
        'console.log(`port ${server.address().port}`);',
        '});',
      ].join('\n');
      const file = kind === 'esm' ? 'app.mjs' : 'app.cjs';
      // An hour-long interval: a beat within the wait is the one sent at start (the agent waits 0.1 s).
      const cwd = appDir({ [file]: app }, { 'service.name': `lazy-${kind}`, 'backend.url': standIn.url, 'heartbeat.interval': 3_600_000 });
      const { stdout, stderr } = run(cwd, [...attach[kind], file]);
      await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
      expect(standIn.beats()[0]).toMatchObject({ kind: 'full', service: `lazy-${kind}` });
      expect(stdout()).toMatch(/^Good morning!\nat listen: ws false, pino false\nport \d+\n$/);
      await vi.waitFor(() => expect(startLines(stderr())).toHaveLength(1), { timeout: 10_000 });
      // The beat socket opened with the first beat, on the agent's own client: ws never loads.
      const port = /port (\d+)/.exec(stdout())?.[1];
      await vi.waitFor(() => expect(standIn.received.some((request) => request.via === 'socket')).toBe(true), {
        timeout: 10_000,
      });
      const loadedFiles = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {
        ws: string[];
        undici: boolean;
      };
      expect(loadedFiles.ws).toEqual([]);
      expect(loadedFiles.undici).toBe(false);
    },
    20_000,
  );

  it('gives every plugin the running agent for @vigil/agent, though it carries its own copy: require, and import of an ES module plugin', async () => {
    const standIn = await backend();
    const app = listeningApps.esm;
    const cwd = appDir(
      { [app.file]: app.source },
      {
        'backend.url': standIn.url,
        'heartbeat.interval': 100,
        'plugins.dir': 'plugins',
        plugins: 'own-cjs,own-esm',
      },
    );
    // A copy of @vigil/agent as a plugin's own node_modules holds it (laid out like the real
    // package), whose services do nothing: a plugin that got it would report no ext-info.
    const ownCopy = {
      'package.json': JSON.stringify({ name: '@vigil/agent', version: '0.1.0', main: 'dist/index.js' }),
      'dist/index.js': [
        'exports.definePlugin = (definition) => definition;',
        'exports.HeartbeatService = class HeartbeatService { static serviceName = "heartbeat"; };',
        'exports.ServiceManager = { getService: () => ({ setExtInfo() {} }) };',
      ].join('\n'),
    };
    const body = [
      'const heartbeat = ServiceManager.getService(HeartbeatService);',
      "heartbeat.setExtInfo(() => ({ agent: 'running' }));",
    ].join('\n');
    const plugins: Record<string, Record<string, string>> = {
      'own-cjs': {
        'package.json': JSON.stringify({ name: 'own-cjs', version: '1.0.0', main: 'index.js' }),
        'index.js': `const { definePlugin, HeartbeatService, ServiceManager } = require('@vigil/agent');\n${body}\nmodule.exports = definePlugin({});\n`,
      },
      'own-esm': {
        'package.json': JSON.stringify({ name: 'own-esm', version: '1.0.0', type: 'module', exports: './index.js' }),
        'index.js': `import { definePlugin, HeartbeatService, ServiceManager } from '@vigil/agent';\n${body}\nexport default definePlugin({});\n`,
      },
    };
    for (const [name, files] of Object.entries(plugins)) {
      const all = {
        ...files,
        ...Object.fromEntries(Object.entries(ownCopy).map(([file, text]) => [`node_modules/@vigil/agent/${file}`, text])),
      };
      for (const [file, text] of Object.entries(all)) {
        const target = path.join(cwd, 'vigil', 'plugins', name, file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, text);
      }
    }
    const { stderr } = run(cwd, [...attach.esm, app.file]);
    await vi.waitFor(
      () => {
        const full = standIn.beats().filter((beat): beat is FullBeat => beat.kind === 'full');
        expect(full.at(-1)?.plugins, stderr()).toEqual([
          { name: 'own-cjs', version: '1.0.0', extInfo: { agent: 'running' } },
          { name: 'own-esm', version: '1.0.0', extInfo: { agent: 'running' } },
        ]);
      },
      { timeout: 10_000, interval: 50 },
    );
  }, 20_000);

  it('sends nothing for an app that ends before its first beat was due, and still writes its start line', async () => {
    const standIn = await backend();
    const cwd = appDir({ 'app.mjs': "console.log('done');\n" }, { 'backend.url': standIn.url });
    const { stdout, stderr, exited } = run(cwd, [...attach.esm, 'app.mjs']);
    const { code } = await exited;
    expect(code).toBe(0);
    expect(stdout()).toBe('done\n');
    expect(startLines(stderr())).toHaveLength(1);
    // Neither a goodbye (no beat went out) nor events (the backend takes them from known instances only).
    // An observation window for a request written just before the exit to be read.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(standIn.received).toEqual([]);
  }, 20_000);

  it('lets a short-lived app exit normally with the backend unreachable, and starts once when loaded twice', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const cwd = appDir({ 'app.mjs': "console.log('done');\n" }, { 'backend.url': `http://127.0.0.1:${port}` });
    // --require and NODE_OPTIONS=--import both load the agent: the second load must be a no-op.
    const { stdout, stderr, exited } = run(cwd, [...attach.cjs, 'app.mjs'], { NODE_OPTIONS: attach.esm.join(' ') });
    const { code } = await exited;
    expect(code).toBe(0);
    expect(stdout()).toBe('done\n');
    expect(startLines(stderr())).toHaveLength(1);
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
    const { stdout, exited } = run(cwd, [...attach.esm, 'app.mjs']);
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(stdout()).toBe('done\n');
    expect(sockets.length).toBeGreaterThanOrEqual(1);
    // The goodbye waits behind the hung beat for at most its 200 ms budget; the hung beat itself would hold the app 10 s.
    expect(ms).toBeLessThan(8_000);
  }, 20_000);
});
