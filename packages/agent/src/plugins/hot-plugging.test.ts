/**
 * Installing, upgrading and uninstalling plugins in running services (real child processes, the
 * built agent), commanded through beat replies: the hot fixture app (CommonJS and ES module
 * flavours) keeps calling functions plugins patch and serves HTTP while its plugins change.
 */
import { get } from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent, FullBeat, PluginCommand } from '../protocol';
import { backendLike, backendStandIn, type StandIn } from '../test-support/backend-stand-in';
import { attach, fixtures, requireBuilt, runNode, type NodeRun } from '../test-support/node-process';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** How long a test waits for what a command does: a beat or two on a quiet machine, far more on a busy one. */
const WAIT_MS = 20_000;

interface HotApp {
  run: NodeRun;
  standIn: StandIn;
  /** Queues commands for the next beats' replies (at most 32 a reply, as the backend sends them). */
  send(...commands: Omit<PluginCommand, 'id'>[]): string[];
  /** The app's HTTP answer to `path`, on a connection of its own. */
  fetch(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }>;
  json<T>(path: string): Promise<T>;
  eventsOf(type: string): AgentEvent[];
  /** The plugins the last full beat listed, as `name version`. */
  listed(): string[];
}

async function startHot(kind: 'esm' | 'cjs', plugins: string, nodeArgs: string[] = []): Promise<HotApp> {
  const pending: PluginCommand[] = [];
  const standIn = await backendStandIn((request, index) => {
    const answer = backendLike(request, index);
    if (!request.path.endsWith('/heartbeat') || pending.length === 0) return answer;
    return { ...answer, body: { ...(answer.body as object), commands: pending.splice(0, 32) } };
  });
  cleanups.push(standIn.close);
  const run = runNode(path.join(fixtures, 'apps', 'hot'), [...nodeArgs, ...attach[kind], kind === 'esm' ? 'app.mjs' : 'app.cjs'], {
    VIGIL_BACKEND_URL: standIn.url,
    VIGIL_PLUGINS_DIR: path.join(fixtures, 'hot-plugins'),
    VIGIL_PLUGINS: plugins,
    VIGIL_HEARTBEAT_INTERVAL: '100',
    VIGIL_EVENT_SEND_INTERVAL: '100',
  });
  cleanups.push(() => run.stop());
  await vi.waitFor(() => expect(run.stdout()).toMatch(/listening \d+/), { timeout: WAIT_MS, interval: 50 });
  const port = Number(/listening (\d+)/.exec(run.stdout())?.[1]);
  let next = 0;
  const fetch: HotApp['fetch'] = (urlPath) =>
    new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }).on('error', reject);
    });
  return {
    run,
    standIn,
    send: (...commands) =>
      commands.map((command) => {
        const id = `cmd-${next++}`;
        pending.push({ id, ...command } as PluginCommand);
        return id;
      }),
    fetch,
    json: async <T>(urlPath: string) => JSON.parse((await fetch(urlPath)).body) as T,
    eventsOf: (type) => standIn.events().filter((event) => event.type === type),
    listed: () =>
      (
        standIn
          .beats()
          .filter((beat) => beat.kind === 'full')
          .at(-1) as FullBeat | undefined
      )?.plugins.map((plugin) => `${plugin.name} ${plugin.version}`) ?? [],
  };
}

beforeAll(() => requireBuilt());

describe('a CommonJS service, its module in the require cache before any plugin targeted it', () => {
  it('gets a plugin installed (a built-in and the loaded module patched), upgraded without a call seeing a mix, and uninstalled (the originals back)', async () => {
    const app = await startHot('cjs', '');
    expect((await app.fetch('/')).body).toBe('hello x');

    const [install] = app.send({ type: 'plugin.install', plugin: 'stamp' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.installed')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.installed')[0]).toMatchObject({
      level: 'normal',
      attributes: { plugin: 'stamp', command: install, version: '1.0.0' },
    });
    const installed = await app.fetch('/');
    expect(installed.headers['x-stamp']).toBe('1.0.0');
    expect(installed.body).toBe('hello <1.0.0:x> [1.0.0]');
    await vi.waitFor(() => expect(app.listed()).toEqual(['stamp 1.0.0']), { timeout: WAIT_MS, interval: 50 });
    const lastFull = () =>
      app.standIn
        .beats()
        .filter((beat) => beat.kind === 'full')
        .at(-1) as FullBeat;
    expect(lastFull().plugins[0]?.extInfo).toEqual({ stamp: '1.0.0' });

    const [upgrade] = app.send({ type: 'plugin.upgrade', plugin: 'stamp', version: '2.0.0' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.upgraded')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.upgraded')[0]).toMatchObject({
      level: 'normal',
      attributes: { plugin: 'stamp', command: upgrade, version: '2.0.0', from: '1.0.0' },
    });
    expect(app.eventsOf('plugin.upgraded')[0]?.attributes).not.toHaveProperty('leaked');
    expect(app.run.stdout()).toContain('stamp 1.0.0 stopped');
    expect((await app.fetch('/')).headers['x-stamp']).toBe('2.0.0');
    await vi.waitFor(() => expect(app.listed()).toEqual(['stamp 2.0.0']), { timeout: WAIT_MS, interval: 50 });

    const [uninstall] = app.send({ type: 'plugin.uninstall', plugin: 'stamp' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.uninstalled')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.uninstalled')[0]).toMatchObject({
      level: 'normal',
      attributes: { plugin: 'stamp', command: uninstall, version: '2.0.0' },
    });
    expect(app.eventsOf('plugin.uninstalled')[0]?.attributes).not.toHaveProperty('leaked');
    expect(app.run.stdout()).toContain('stamp 2.0.0 stopped');
    const after = await app.fetch('/');
    expect(after.headers).not.toHaveProperty('x-stamp');
    expect(after.body).toBe('hello x');
    expect(await app.json('/check')).toEqual({ writeHead: true, greet: true, decorate: true, greetLater: true });
    await vi.waitFor(() => expect(app.listed()).toEqual([]), { timeout: WAIT_MS, interval: 50 });

    // Every call the app made all along saw no plugin, all of 1.0.0 or all of 2.0.0, and none failed.
    const { seen } = await app.json<{ seen: string[] }>('/seen');
    expect(seen).toEqual(
      expect.arrayContaining(['hello <1.0.0:x> [1.0.0]', 'hello <2.0.0:x> [2.0.0]', 'hello y@1.0.0 [1.0.0]', 'hello y@2.0.0 [2.0.0]']),
    );
    const allowed = ['hello x', 'hello y', ...['1.0.0', '2.0.0'].flatMap((v) => [`hello <${v}:x> [${v}]`, `hello y@${v} [${v}]`])];
    expect(seen.filter((outcome) => !allowed.includes(outcome))).toEqual([]);
  }, 60_000);

  it('refuses a version it cannot find, naming what it found, and leaves the running version alone', async () => {
    const app = await startHot('cjs', 'stamp');
    const [bad] = app.send({ type: 'plugin.install', plugin: 'stamp', version: '3.0.0' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.install-failed')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    const [failed] = app.eventsOf('plugin.install-failed');
    expect(failed).toMatchObject({ level: 'important', attributes: { plugin: 'stamp', command: bad, version: '3.0.0', from: '1.0.0' } });
    expect(failed?.attributes?.reason).toMatch(
      /^no version 3\.0\.0 of plugin stamp: found 1\.0\.0 \(.*stamp\), 2\.0\.0 \(.*stamp@2\.0\.0\)$/,
    );
    expect((await app.fetch('/')).headers['x-stamp']).toBe('1.0.0');

    app.send({ type: 'plugin.uninstall', plugin: 'ghost' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.uninstall-failed')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.uninstall-failed')[0]?.attributes).toMatchObject({
      plugin: 'ghost',
      reason: 'plugin ghost is not installed',
    });
  }, 60_000);

  it('reports what a plugin did not release when it is uninstalled', async () => {
    const app = await startHot('cjs', '');
    app.send({ type: 'plugin.install', plugin: 'leaky' }, { type: 'plugin.uninstall', plugin: 'leaky' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.uninstalled')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.uninstalled')[0]).toMatchObject({
      level: 'important',
      attributes: { plugin: 'leaky', version: '1.0.0', leaked: 'timers:1,sockets:1' },
    });
  }, 60_000);

  it('keeps heap and handles flat over 100 install and uninstall cycles', async () => {
    const app = await startHot('cjs', '', ['--expose-gc']);
    const cycles = async (count: number) => {
      const before = app.eventsOf('plugin.uninstalled').length;
      for (let index = 0; index < count; index += 1) {
        app.send({ type: 'plugin.install', plugin: 'stamp' }, { type: 'plugin.uninstall', plugin: 'stamp' });
      }
      await vi.waitFor(() => expect(app.eventsOf('plugin.uninstalled').length).toBe(before + count), { timeout: 60_000, interval: 100 });
    };
    type Measure = { heapUsed: number; resources: Record<string, number> };
    // Warm-up: code paths compiled, caches filled.
    await cycles(10);
    const baseline = await app.json<Measure>('/measure');
    await cycles(100);
    const later = await app.json<Measure>('/measure');
    expect(app.eventsOf('plugin.install-failed')).toEqual([]);
    // The agent's own timers and connections come and go with its beats and events: a few either way.
    for (const [type, count] of Object.entries(later.resources))
      expect(count, type).toBeLessThanOrEqual((baseline.resources[type] ?? 0) + 2);
    // Each evaluation of the plugin holds ~80 KB (its ballast): 100 kept alive would be ~8 MB.
    expect(later.heapUsed - baseline.heapUsed).toBeLessThan(3 * 1024 * 1024);
    expect((await app.fetch('/')).body).toBe('hello x');
  }, 120_000);
});

describe('an ES module service', () => {
  it('gets a plugin installed on a module its import hook wrapped at load, and uninstalled', async () => {
    const app = await startHot('esm', 'anchor');
    const original = await app.fetch('/');
    expect(original.body).toBe('hello x');
    app.send({ type: 'plugin.install', plugin: 'esm-stamp' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.installed')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    const installed = await app.fetch('/');
    expect(installed.headers['x-stamp']).toBe('1.0.0');
    // The app's named import of greet now runs the plugin's hook.
    expect(installed.body).toBe('hello x [1.0.0]');
    await vi.waitFor(async () => expect((await app.json<{ seen: string[] }>('/seen')).seen).toContain('hello y@1.0.0 [1.0.0]'), {
      timeout: WAIT_MS,
      interval: 50,
    });

    app.send({ type: 'plugin.uninstall', plugin: 'esm-stamp' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.uninstalled')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    const after = await app.fetch('/');
    expect(after.headers).not.toHaveProperty('x-stamp');
    expect(after.body).toBe('hello x');
    expect(await app.json('/check')).toEqual({ writeHead: true, greet: true, greetLater: true, extra: true });
  }, 60_000);

  it('refuses, changing nothing, a plugin on an ES module imported without its import hook', async () => {
    const app = await startHot('esm', 'anchor');
    app.send({ type: 'plugin.install', plugin: 'extra-stamp' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.install-failed')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.install-failed')[0]?.attributes?.reason).toMatch(
      /lib\/extra\.mjs was imported by ES modules before the agent's import hook watched it: their imports cannot be patched after load/,
    );
    // All or nothing: its http interceptor, which could have been applied, was not.
    expect((await app.fetch('/')).headers).not.toHaveProperty('x-extra');
    expect(await app.json('/check')).toEqual({ writeHead: true, greet: true, greetLater: true, extra: true });
    expect(app.listed()).toEqual(['anchor 1.0.0']);
  }, 60_000);

  it('refuses a plugin on its modules when no import hook ran since it started', async () => {
    const app = await startHot('esm', '');
    app.send({ type: 'plugin.install', plugin: 'esm-stamp' });
    await vi.waitFor(() => expect(app.eventsOf('plugin.install-failed')).toHaveLength(1), { timeout: WAIT_MS, interval: 50 });
    expect(app.eventsOf('plugin.install-failed')[0]?.attributes?.reason).toMatch(
      /^the agent's import hook did not run since the service started .* cannot tell whether ES modules imported .*lib\/greet\.mjs \(the service itself is an ES module\)$/,
    );
    expect((await app.fetch('/')).headers).not.toHaveProperty('x-stamp');
  }, 60_000);
});
