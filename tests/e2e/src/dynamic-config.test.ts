import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigHistory, EventList, Instance, PluginConfig } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startBackend, startProcess, waitFor, type Backend, type Proc } from './harness.js';

const require = createRequire(import.meta.url);

/**
 * Dynamic configuration end to end (issue 22, docs/plugin-config.md): a real backend, three real
 * services of one service name (ESM and CommonJS) under the real agent, each running a plugin that
 * declares settings and prints what its onChange sees. A change made through the API reaches
 * every instance within two heartbeat intervals, the applied version shows in the API, a bad value
 * is refused with 400, and a change the plugin's onChange throws on is rolled back on that
 * instance with an event.
 */

const SERVICE = 'e2e-config';
/** The agents' heartbeat interval; a change must reach every instance within two. */
const INTERVAL_MS = 3_000;
const CONFIG = `/api/v1/services/${SERVICE}/plugins/knob/config`;

/** The plugin: settings with defaults, its values in ext-info, each onChange printed with the time; refuses mode=explode. */
const PLUGIN = `
const { ConfigService, definePlugin, HeartbeatService, ServiceManager } = require('@vigil/agent');
const config = ServiceManager.getService(ConfigService);
const heartbeat = ServiceManager.getService(HeartbeatService);
heartbeat.setExtInfo(() => ({ mode: config.get('mode'), limit: String(config.get('limit')) }));
config.onChange((values, changed) => {
  if (values.mode === 'explode') throw new Error('mode explode is not allowed');
  console.log('config-seen ' + JSON.stringify({ at: Date.now(), values, changed }));
});
module.exports = definePlugin({
  settings: {
    mode: { type: 'string', default: 'calm', description: 'how it behaves' },
    limit: { type: 'number', default: 1 },
    hosts: { type: 'string[]', default: [] },
  },
});
`;

interface Seen {
  at: number;
  values: { mode: string; limit: number; hosts: string[] };
  changed: string[];
}

/** What the plugin's onChange saw in a service's output, oldest first. */
function seen(app: Proc): Seen[] {
  return app
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('config-seen '))
    .map((line) => JSON.parse(line.slice('config-seen '.length)) as Seen);
}

/** One service with the agent and the knob plugin; `limit` in its settings file, when given. */
function startService(pluginsDir: string, backendUrl: string, moduleSystem: 'esm' | 'cjs', limit?: number): Proc {
  const dir = mkdtempSync(join(tmpdir(), `vigil-e2e-config-${moduleSystem}-`));
  mkdirSync(join(dir, 'vigil', 'plugins'), { recursive: true });
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      `service.name=${SERVICE}`,
      `heartbeat.interval=${INTERVAL_MS}`,
      'event.send.interval=200',
      `backend.url=${backendUrl}`,
      `plugins.dir=${pluginsDir}`,
      'plugins=knob',
      '',
    ].join('\n'),
  );
  if (limit !== undefined) writeFileSync(join(dir, 'vigil', 'plugins', 'knob.properties'), `limit=${limit}\n`);
  const file = moduleSystem === 'esm' ? 'app.mjs' : 'app.cjs';
  const http = moduleSystem === 'esm' ? "import { createServer } from 'node:http';" : "const { createServer } = require('node:http');";
  writeFileSync(join(dir, file), `${http}\ncreateServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');\n`);
  const flag = moduleSystem === 'esm' ? '--import' : '--require';
  return startProcess(process.execPath, [flag, require.resolve('@vigil/agent/register'), file], { cwd: dir });
}

describe('dynamic configuration of a running fleet', () => {
  let backend: Backend;
  let apps: Proc[];
  let instances: Instance[];

  async function api<T>(method: string, path: string, status: number, body?: object): Promise<T> {
    const response = await fetch(`${backend.url}${path}`, {
      method,
      ...(body && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(status);
    return JSON.parse(text) as T;
  }

  const events = async (type: string): Promise<EventList['events']> =>
    (await api<EventList>('GET', `/api/v1/events?type=${type}&limit=1000`, 200)).events;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-config-data-')) });
    const pluginsDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-config-plugins-'));
    mkdirSync(join(pluginsDir, 'knob'));
    writeFileSync(join(pluginsDir, 'knob', 'package.json'), JSON.stringify({ name: 'knob', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(pluginsDir, 'knob', 'index.js'), PLUGIN);
    apps = [
      startService(pluginsDir, backend.url, 'esm', 2),
      startService(pluginsDir, backend.url, 'cjs'),
      startService(pluginsDir, backend.url, 'esm'),
    ];
    instances = [];
    for (const app of apps) {
      const pid = app.child.pid ?? -1;
      instances.push(
        await waitFor(
          `the instance of pid ${pid} with the knob plugin's settings (output: ${app.output()})`,
          async () => {
            const found = await instanceOfPid(backend, pid);
            return found?.plugins.find((p) => p.name === 'knob')?.settings ? found : undefined;
          },
          30_000,
        ),
      );
    }
  }, 90_000);
  afterAll(() => killAll());

  it('shows the settings the instances declare, and refuses values that do not fit them with 400 naming the field', async () => {
    const config = await api<PluginConfig>('GET', CONFIG, 200);
    expect(config).toMatchObject({
      version: 0,
      values: {},
      settings: { mode: { type: 'string', default: 'calm' }, limit: { type: 'number' }, hosts: { type: 'string[]' } },
    });
    expect(config.applied.map((a) => a.version)).toEqual([0, 0, 0]);
    // The settings file's value is what the first one runs with before any change.
    expect(instances.map((i) => i.plugins.find((p) => p.name === 'knob')?.extInfo.limit)).toEqual(['2', '1', '1']);

    const wrongType = await api<{ issues: string[] }>('PUT', CONFIG, 400, { values: { limit: 'lots' } });
    expect(wrongType.issues).toEqual(['values.limit: must be a number, not a string']);
    const unknown = await api<{ issues: string[] }>('PUT', CONFIG, 400, { values: { colour: 'red' } });
    expect(unknown.issues).toEqual([expect.stringMatching(/^values\.colour: not a setting of the plugin/)]);
    expect((await api<PluginConfig>('GET', CONFIG, 200)).version).toBe(0);
  });

  it('reaches every instance within two heartbeat intervals: each onChange sees the values, the applied version shows in the API', async () => {
    const values = { mode: 'brisk', limit: 7, hosts: ['a.internal', 'b.internal'] };
    const changedAt = Date.now();
    const put = await api<PluginConfig>('PUT', CONFIG, 200, { values, comment: 'e2e change' });
    expect(put).toMatchObject({ version: 1, values, updatedBy: 'anonymous' });

    for (const [index, app] of apps.entries()) {
      const change = await waitFor(
        `instance ${index}'s onChange to see version 1 (output: ${app.output()})`,
        () => seen(app).find((s) => s.values.mode === 'brisk'),
        30_000,
      );
      expect(change.values).toEqual(values);
      expect([...change.changed].sort()).toEqual(['hosts', 'limit', 'mode']);
      expect(change.at - changedAt, `instance ${index} applied it ${change.at - changedAt} ms after the change`).toBeLessThanOrEqual(
        2 * INTERVAL_MS,
      );
    }

    const applied = await waitFor(
      'every instance to report version 1 applied',
      async () => {
        const config = await api<PluginConfig>('GET', CONFIG, 200);
        return config.applied.every((a) => a.version === 1) ? config.applied : undefined;
      },
      30_000,
    );
    expect(applied.map((a) => a.instanceId).sort()).toEqual(instances.map((i) => i.instanceId).sort());
    expect(applied.every((a) => a.target === 1 && a.rejected === null)).toBe(true);
    // The ext-info the plugin reports reads the new values.
    const shown = await waitFor(
      "the new values in every instance's ext-info",
      async () => {
        const all = await Promise.all(instances.map((i) => backend.instance(i.instanceId)));
        const infos = all.map((i) => i?.plugins.find((p) => p.name === 'knob')?.extInfo);
        return infos.every((info) => info?.mode === 'brisk') ? infos : undefined;
      },
      30_000,
    );
    expect(shown.map((info) => info?.limit)).toEqual(['7', '7', '7']);

    const appliedEvents = await waitFor(
      'a plugin.config-applied event from every instance',
      async () => {
        const found = (await events('plugin.config-applied')).filter((e) => e.attributes.version === '1');
        return found.length === instances.length ? found : undefined;
      },
      30_000,
    );
    expect(appliedEvents.every((e) => e.origin === 'agent' && e.attributes.plugin === 'knob')).toBe(true);
    expect((await events('plugin.config-changed'))[0]).toMatchObject({
      service: SERVICE,
      attributes: { plugin: 'knob', version: '1', updatedBy: 'anonymous', comment: 'e2e change' },
    });
    expect((await api<ConfigHistory>('GET', `${CONFIG}/history`, 200)).versions).toEqual([
      { version: 1, values, updatedAt: expect.any(Number), updatedBy: 'anonymous', comment: 'e2e change', rollbackOf: null },
    ]);
  }, 120_000);

  it('rolls back a change the onChange throws on, on that instance only, with an event; the next change applies again', async () => {
    const target = instances[1]!;
    const url = `/api/v1/instances/${target.instanceId}/plugins/knob/config`;
    const refused = await api<PluginConfig>('PUT', url, 200, { values: { mode: 'explode' } });
    expect(refused).toMatchObject({ version: 2, values: { mode: 'explode' }, effective: { mode: 'explode', limit: 7 } });

    const rejection = await waitFor(
      'the plugin.config-rejected event',
      async () => (await events('plugin.config-rejected')).find((e) => e.instanceId === target.instanceId),
      30_000,
    );
    expect(rejection.attributes).toMatchObject({ plugin: 'knob', version: '2', kept: '1' });
    expect(rejection.attributes.reason).toMatch(/explode is not allowed/);
    await waitFor(
      'the instance to report version 2 refused and 1 kept',
      async () => {
        const config = await api<PluginConfig>('GET', url, 200);
        return config.applied[0]?.version === 1 && config.applied[0]?.rejected === 2 ? true : undefined;
      },
      30_000,
    );
    // It still runs with version 1's values; the other instances were not asked at all.
    expect(seen(apps[1]!).some((s) => s.values.mode === 'explode')).toBe(false);
    expect((await backend.instance(target.instanceId))?.plugins.find((p) => p.name === 'knob')?.extInfo.mode).toBe('brisk');
    const service = await api<PluginConfig>('GET', CONFIG, 200);
    expect(service.applied.filter((a) => a.instanceId !== target.instanceId).map((a) => [a.version, a.target])).toEqual([
      [1, 1],
      [1, 1],
    ]);

    // The next change of its configuration (the override removed: back to the service's values) applies as usual.
    await api('PUT', url, 200, { values: {} });
    await waitFor(
      'the instance to apply version 3',
      async () => {
        const config = await api<PluginConfig>('GET', url, 200);
        return config.applied[0]?.version === 3 && config.applied[0]?.rejected === null ? true : undefined;
      },
      30_000,
    );
  }, 120_000);
});
