/**
 * Hot plugging end to end: a real backend, a real CommonJS and a real ES module service under
 * load (wrk), and a plugin installed, upgraded and uninstalled in each while it serves, through
 * the REST commands. Every request must succeed; the plugin's header must come and go with it, and
 * after the uninstall the patched function must be the original again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startBackend, startProcess, waitFor, type Backend, type Proc } from './harness.js';

const require = createRequire(import.meta.url);

/** How long wrk loads the service: long enough for install, upgrade and uninstall (each a beat or two), bounded. */
const LOAD_SECONDS = 8;

/** The plugin at a version: it stamps every response with `x-hot: <version>`. */
function pluginSource(version: string): string {
  return [
    "const { definePlugin } = require('@vigil/agent');",
    'module.exports = definePlugin({',
    '  interceptors: [',
    `    { module: 'http', export: 'ServerResponse.prototype', method: 'writeHead', before: (ctx) => ctx.target.setHeader('x-hot', '${version}') },`,
    '  ],',
    '});',
    '',
  ].join('\n');
}

/**
 * A service that starts with no plugin, its plugins folder holding `hot` 1.0.0 and `hot@2.0.0`.
 * `/check` says whether ServerResponse.prototype.writeHead is the function the service saw at start.
 */
function startService(moduleSystem: 'esm' | 'cjs', backendUrl: string): Proc & { port: () => number } {
  const dir = mkdtempSync(join(tmpdir(), `vigil-e2e-hot-${moduleSystem}-`));
  for (const [folder, version] of [
    ['hot', '1.0.0'],
    ['hot@2.0.0', '2.0.0'],
  ] as const) {
    mkdirSync(join(dir, 'vigil', 'plugins', folder), { recursive: true });
    writeFileSync(join(dir, 'vigil', 'plugins', folder, 'package.json'), JSON.stringify({ name: 'hot', version, main: 'index.js' }));
    writeFileSync(join(dir, 'vigil', 'plugins', folder, 'index.js'), pluginSource(version));
  }
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      `service.name=e2e-hot-${moduleSystem}`,
      'heartbeat.interval=200',
      'event.send.interval=100',
      `backend.url=${backendUrl}`,
      'plugins=',
      '',
    ].join('\n'),
  );
  const body = [
    'const original = http.ServerResponse.prototype.writeHead;',
    'const server = http.createServer((req, res) => {',
    "  if (req.url === '/check') return res.end(JSON.stringify({ writeHead: http.ServerResponse.prototype.writeHead === original }));",
    "  res.writeHead(200, { 'content-type': 'text/plain' });",
    "  res.end('ok');",
    '});',
    "server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));",
    '',
  ].join('\n');
  const file = moduleSystem === 'esm' ? 'app.mjs' : 'app.cjs';
  writeFileSync(
    join(dir, file),
    (moduleSystem === 'esm' ? "import http from 'node:http';\n" : "const http = require('node:http');\n") + body,
  );
  const flag = moduleSystem === 'esm' ? '--import' : '--require';
  const proc = startProcess(process.execPath, [flag, require.resolve('@vigil/agent/register'), file], { cwd: dir });
  return { ...proc, port: () => Number(/listening (\d+)/.exec(proc.stdout())?.[1] ?? 0) };
}

/** wrk on `url` for LOAD_SECONDS with a few connections; resolves with its report. */
function load(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const wrk = spawn('/usr/bin/wrk', ['-t1', '-c4', `-d${LOAD_SECONDS}s`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let report = '';
    wrk.stdout.on('data', (chunk: Buffer) => (report += chunk.toString()));
    wrk.stderr.on('data', (chunk: Buffer) => (report += chunk.toString()));
    wrk.on('error', reject);
    wrk.on('exit', (code) => (code === 0 ? resolve(report) : reject(new Error(`wrk exited with ${code}: ${report}`))));
  });
}

describe.each(['cjs', 'esm'] as const)('a %s service under load', (moduleSystem) => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend();
  });
  afterAll(() => killAll());

  /** Posts a command for one instance; returns its id (the agent's outcome event names it). */
  async function command(instanceId: string, action: 'install' | 'upgrade' | 'uninstall', version?: string): Promise<string> {
    const response = await fetch(`${backend.url}/api/v1/instances/${instanceId}/plugins/hot/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(version === undefined ? {} : { version }),
    });
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { command?: { id: string }; commands?: { id: string }[] };
    const id = answer.command?.id ?? answer.commands?.[0]?.id;
    expect(id).toEqual(expect.any(String));
    return id as string;
  }

  async function outcome(instanceId: string, commandId: string): Promise<EventList['events'][number]> {
    return waitFor(
      `the outcome of command ${commandId}`,
      async () => {
        const response = await fetch(`${backend.url}/api/v1/events?instanceId=${instanceId}&origin=agent&limit=1000`);
        return ((await response.json()) as EventList).events.find((event) => event.attributes?.command === commandId);
      },
      20_000,
    );
  }

  async function headerOf(port: number): Promise<string | null> {
    return (await fetch(`http://127.0.0.1:${port}/`)).headers.get('x-hot');
  }

  it('gets a plugin installed, upgraded and uninstalled while serving, with no failed request', async () => {
    const service = startService(moduleSystem, backend.url);
    const pid = service.child.pid ?? -1;
    const instance = await waitFor(`the instance of pid ${pid} (output: ${service.output()})`, () => instanceOfPid(backend, pid), 20_000);
    await waitFor('the service to listen', () => (service.port() > 0 ? true : undefined));
    const port = service.port();
    expect(await headerOf(port)).toBeNull();

    let loading = true;
    const report = load(`http://127.0.0.1:${port}/`).finally(() => (loading = false));

    const install = await command(instance.instanceId, 'install');
    expect(await outcome(instance.instanceId, install)).toMatchObject({
      type: 'plugin.installed',
      attributes: { plugin: 'hot', version: '1.0.0' },
    });
    expect(await headerOf(port)).toBe('1.0.0');
    await waitFor('the instance to list hot 1.0.0', async () =>
      (await backend.instance(instance.instanceId))?.plugins.some((p) => p.name === 'hot' && p.version === '1.0.0') ? true : undefined,
    );

    const upgrade = await command(instance.instanceId, 'upgrade', '2.0.0');
    expect(await outcome(instance.instanceId, upgrade)).toMatchObject({
      type: 'plugin.upgraded',
      attributes: { plugin: 'hot', version: '2.0.0', from: '1.0.0' },
    });
    expect(await headerOf(port)).toBe('2.0.0');
    await waitFor('the instance to list hot 2.0.0', async () =>
      (await backend.instance(instance.instanceId))?.plugins.some((p) => p.name === 'hot' && p.version === '2.0.0') ? true : undefined,
    );

    const uninstall = await command(instance.instanceId, 'uninstall');
    expect(await outcome(instance.instanceId, uninstall)).toMatchObject({
      type: 'plugin.uninstalled',
      attributes: { plugin: 'hot', version: '2.0.0' },
    });
    expect(await headerOf(port)).toBeNull();
    expect(await (await fetch(`http://127.0.0.1:${port}/check`)).json()).toEqual({ writeHead: true });
    await waitFor('the instance to list no plugin', async () =>
      (await backend.instance(instance.instanceId))?.plugins.some((p) => p.name === 'hot') === false ? true : undefined,
    );
    // All three happened while wrk was loading the service.
    expect(loading).toBe(true);

    const wrk = await report;
    expect(wrk).toMatch(/(\d+) requests in/);
    expect(Number(/(\d+) requests in/.exec(wrk)?.[1])).toBeGreaterThan(0);
    expect(wrk).not.toMatch(/Non-2xx or 3xx responses/);
    expect(wrk).not.toMatch(/Socket errors/);

    const states = await fetch(`${backend.url}/api/v1/plugin-commands?instanceId=${instance.instanceId}`);
    const { commands } = (await states.json()) as { commands: { id: string; state: string }[] };
    expect(Object.fromEntries(commands.map(({ id, state }) => [id, state]))).toMatchObject({
      [install]: 'succeeded',
      [upgrade]: 'succeeded',
      [uninstall]: 'succeeded',
    });
  }, 90_000);
});
