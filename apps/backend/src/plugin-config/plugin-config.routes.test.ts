import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BeatReply, ConfigHistory, ConfigVersion, EventRecord, PluginConfig, PluginInfo } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';

/**
 * Dynamic configuration as an operator and an agent meet it (docs/plugin-config.md): real routes
 * through Fastify (`app.inject`, from loopback), beats through the real beat route, whose replies
 * carry what each instance is due, events read back from the events API.
 */

const apps = testApps('plugin-config');

const SETTINGS: NonNullable<PluginInfo['settings']> = {
  greeting: { type: 'string', default: 'hello', description: 'what to say' },
  retries: { type: 'number', default: 3 },
  verbose: { type: 'boolean' },
  hosts: { type: 'string[]' },
};

const SERVICE_URL = '/api/v1/services/orders/plugins/greeter/config';
const instanceUrl = (id: string) => `/api/v1/instances/${id}/plugins/greeter/config`;

/** A full beat of an instance of `orders` running `greeter`, with what it reports of its configuration. */
function full(instanceId: string, plugin: Partial<PluginInfo> = {}, service = 'orders') {
  return {
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: Date.now(),
    lastHeartbeatTime: null,
    service,
    appName: 'shop',
    artifact: service,
    appType: 'default',
    hostName: 'host-1',
    ip: ['10.0.0.1'],
    processId: 1,
    dynamicInstall: false,
    version: '1.0.0',
    plugins: [{ name: 'greeter', version: '1.0.0', extInfo: {}, settings: SETTINGS, ...plugin }],
  };
}

const light = (instanceId: string) => ({ v: 1, kind: 'light', instanceId, heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() - 1 });

async function beat(app: NestFastifyApplication, body: object): Promise<BeatReply> {
  const answer = await app.inject({ method: 'PUT', url: '/api/v1/heartbeat', payload: body });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as BeatReply;
}

async function call<T>(
  app: NestFastifyApplication,
  method: 'GET' | 'PUT' | 'POST',
  url: string,
  status: number,
  payload?: object,
  headers?: Record<string, string>,
): Promise<T> {
  const answer = await app.inject({ method, url, ...(payload && { payload }), ...(headers && { headers }) });
  expect(answer.statusCode, answer.body).toBe(status);
  return answer.json() as T;
}

async function events(app: NestFastifyApplication, type: string, headers?: Record<string, string>): Promise<EventRecord[]> {
  return (await call<{ events: EventRecord[] }>(app, 'GET', `/api/v1/events?type=${type}`, 200, undefined, headers)).events;
}

describe('plugin configuration API', () => {
  it("sets a service's values, delivers them in beat replies until the instance reports them applied, and shows who applied what", async () => {
    const app = await apps.start();
    expect(await call(app, 'GET', SERVICE_URL, 404)).toMatchObject({ issues: [expect.stringMatching(/^plugin: /)] });
    await beat(app, full('a'));
    await beat(app, full('b'));
    expect(await call<PluginConfig>(app, 'GET', SERVICE_URL, 200)).toEqual({
      service: 'orders',
      plugin: 'greeter',
      instanceId: null,
      version: 0,
      values: {},
      effective: {},
      settings: SETTINGS,
      updatedAt: null,
      updatedBy: null,
      applied: [
        { instanceId: 'a', version: 0, rejected: null, target: 0 },
        { instanceId: 'b', version: 0, rejected: null, target: 0 },
      ],
    });
    expect((await beat(app, light('a'))).config).toBeUndefined();

    const values = { greeting: 'hi', retries: 5, verbose: true, hosts: ['x', 'y'] };
    const put = await call<PluginConfig>(app, 'PUT', SERVICE_URL, 200, { values, comment: 'louder' });
    expect(put).toMatchObject({ version: 1, values, effective: values, updatedBy: 'anonymous', updatedAt: expect.any(Number) });
    expect(put.applied.map((a) => a.target)).toEqual([1, 1]);

    const due = [{ plugin: 'greeter', version: 1, values }];
    expect((await beat(app, light('a'))).config).toEqual(due);
    // Not applied yet: the next reply carries it again (a lost reply is made good).
    expect((await beat(app, light('a'))).config).toEqual(due);
    expect((await beat(app, full('b'))).config).toEqual(due);

    expect((await beat(app, full('a', { configVersion: 1 }))).config).toBeUndefined();
    expect((await beat(app, light('a'))).config).toBeUndefined();
    expect((await call<PluginConfig>(app, 'GET', SERVICE_URL, 200)).applied).toEqual([
      { instanceId: 'a', version: 1, rejected: null, target: 1 },
      { instanceId: 'b', version: 0, rejected: null, target: 1 },
    ]);

    // An onChange that threw: the instance kept version 0 and reports 1 refused; it is not sent 1 again.
    expect((await beat(app, full('b', { configVersion: 0, configRejected: 1 }))).config).toBeUndefined();
    expect((await beat(app, light('b'))).config).toBeUndefined();
    expect((await call<PluginConfig>(app, 'GET', SERVICE_URL, 200)).applied[1]).toEqual({
      instanceId: 'b',
      version: 0,
      rejected: 1,
      target: 1,
    });

    const [changed] = await events(app, 'plugin.config-changed');
    expect(changed).toMatchObject({
      origin: 'backend',
      service: 'orders',
      attributes: { plugin: 'greeter', version: '1', updatedBy: 'anonymous', scope: 'service', comment: 'louder' },
    });
  });

  it('refuses values that do not fit the declared settings with 400 naming values.<name>, and answers 409 while none are declared', async () => {
    const app = await apps.start();
    await beat(app, full('plain', { settings: undefined }));
    const undeclared = await call<{ issues: string[] }>(app, 'PUT', SERVICE_URL, 409, { values: { greeting: 'hi' } });
    expect(undeclared.issues).toEqual([expect.stringMatching(/^plugin: no instance of orders declares the settings of greeter/)]);

    await beat(app, full('a'));
    const wrong = await call<{ error: string; issues: string[] }>(app, 'PUT', SERVICE_URL, 400, {
      values: { retries: 'many', verbose: 1, colour: 'red' },
    });
    expect(wrong.error).toBe('invalid config');
    expect(wrong.issues).toEqual([
      'values.retries: must be a number, not a string',
      'values.verbose: must be true or false, not 1',
      expect.stringMatching(/^values\.colour: not a setting of the plugin/),
    ]);
    const shapes = await call<{ issues: string[] }>(app, 'PUT', SERVICE_URL, 400, { values: { retries: { n: 1 } }, note: 'x' });
    expect(shapes.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^values\.retries: /), expect.stringMatching(/note/)]));
    expect((await call<{ issues: string[] }>(app, 'PUT', SERVICE_URL, 400, {})).issues).toEqual([expect.stringMatching(/^values: /)]);
    // Nothing was made.
    expect((await call<PluginConfig>(app, 'GET', SERVICE_URL, 200)).version).toBe(0);
    expect(await events(app, 'plugin.config-changed')).toEqual([]);
  });

  it("overrides single settings on one instance: a version for that instance only, over the service's values", async () => {
    const app = await apps.start();
    await beat(app, full('a'));
    await beat(app, full('b'));
    await call(app, 'PUT', SERVICE_URL, 200, { values: { greeting: 'hi', retries: 5 } });
    const own = await call<PluginConfig>(app, 'PUT', instanceUrl('a'), 200, { values: { retries: 9 } });
    expect(own).toMatchObject({
      instanceId: 'a',
      version: 2,
      values: { retries: 9 },
      effective: { greeting: 'hi', retries: 9 },
      applied: [{ instanceId: 'a', version: 0, rejected: null, target: 2 }],
    });
    expect((await beat(app, light('a'))).config).toEqual([{ plugin: 'greeter', version: 2, values: { greeting: 'hi', retries: 9 } }]);
    expect((await beat(app, light('b'))).config).toEqual([{ plugin: 'greeter', version: 1, values: { greeting: 'hi', retries: 5 } }]);
    expect((await call<PluginConfig>(app, 'GET', SERVICE_URL, 200)).applied.map((a) => [a.instanceId, a.target])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    await call(app, 'PUT', instanceUrl('a'), 400, { values: { retries: '9' } });
    expect(await call(app, 'GET', instanceUrl('nobody'), 404)).toMatchObject({ issues: ['id: no instance nobody'] });
    await call(app, 'GET', '/api/v1/instances/a/plugins/other/config', 404);

    // Cleared: the instance runs with the service's values, as a version of its own.
    expect(await call<PluginConfig>(app, 'PUT', instanceUrl('a'), 200, { values: {} })).toMatchObject({
      version: 3,
      values: {},
      effective: { greeting: 'hi', retries: 5 },
    });
    const [event] = await events(app, 'plugin.config-changed');
    expect(event).toMatchObject({ instanceId: 'a', attributes: { scope: 'instance', version: '3' } });
  });

  it('keeps the history with who and why, and rolls back to an earlier version as a new one', async () => {
    const token = 'deploy-token-0123456789';
    const app = await apps.start({ VIGIL_API_TOKENS: `${token}:deploy-bot,other-token-0123456789` });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    await beat(app, full('a'));
    await call(app, 'PUT', SERVICE_URL, 200, { values: { greeting: 'one' }, comment: 'first' }, bearer(token));
    await call(app, 'PUT', SERVICE_URL, 200, { values: { greeting: 'two' } }, bearer('other-token-0123456789'));
    await call(app, 'PUT', instanceUrl('a'), 200, { values: { retries: 1 } }, bearer(token));

    const history = await call<ConfigHistory>(app, 'GET', `${SERVICE_URL}/history`, 200, undefined, bearer(token));
    expect(history.versions).toEqual([
      { version: 2, values: { greeting: 'two' }, updatedAt: expect.any(Number), updatedBy: 'api-token-2', comment: null, rollbackOf: null },
      {
        version: 1,
        values: { greeting: 'one' },
        updatedAt: expect.any(Number),
        updatedBy: 'deploy-bot',
        comment: 'first',
        rollbackOf: null,
      },
    ]);
    expect(
      (await call<ConfigHistory>(app, 'GET', `${instanceUrl('a')}/history`, 200, undefined, bearer(token))).versions.map((v) => v.version),
    ).toEqual([3]);

    const rolled = await call<ConfigVersion>(app, 'POST', `${SERVICE_URL}/rollback`, 201, { version: 1 }, bearer(token));
    expect(rolled).toEqual({
      version: 4,
      values: { greeting: 'one' },
      updatedAt: expect.any(Number),
      updatedBy: 'deploy-bot',
      comment: null,
      rollbackOf: 1,
    });
    expect(await call<PluginConfig>(app, 'GET', SERVICE_URL, 200, undefined, bearer(token))).toMatchObject({
      version: 4,
      values: { greeting: 'one' },
    });
    expect((await beat(app, light('a'))).config).toEqual([{ plugin: 'greeter', version: 4, values: { greeting: 'one', retries: 1 } }]);

    // A version of another scope, or none at all, is not in this history.
    for (const version of [3, 99]) {
      const refused = await call<{ issues: string[] }>(app, 'POST', `${SERVICE_URL}/rollback`, 400, { version }, bearer(token));
      expect(refused.issues).toEqual([expect.stringMatching(new RegExp(`^version: no version ${version} in the history`))]);
    }
    await call(app, 'POST', `${SERVICE_URL}/rollback`, 400, { version: 'one' }, bearer(token));
    const back = await call<ConfigVersion>(app, 'POST', `${instanceUrl('a')}/rollback`, 201, { version: 3 }, bearer(token));
    expect(back).toMatchObject({ version: 5, values: { retries: 1 }, rollbackOf: 3 });
    expect((await events(app, 'plugin.config-changed', bearer(token))).map((e) => e.attributes.rollbackOf ?? '-')).toEqual([
      '3',
      '1',
      '-',
      '-',
      '-',
    ]);
  });

  it('keeps configurations across a restart: the same answers, and instances that come back are due theirs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-plugin-config-restart-'));
    const first = await apps.start({ VIGIL_DATA_DIR: dataDir });
    await beat(first, full('a'));
    await call(first, 'PUT', SERVICE_URL, 200, { values: { greeting: 'kept' }, comment: 'before restart' });
    await call(first, 'PUT', instanceUrl('a'), 200, { values: { retries: 7 } });
    const history = await call<ConfigHistory>(first, 'GET', `${SERVICE_URL}/history`, 200);
    apps.release(first);
    await first.close();

    const second = await apps.start({ VIGIL_DATA_DIR: dataDir });
    expect(await call<ConfigHistory>(second, 'GET', `${SERVICE_URL}/history`, 200)).toEqual(history);
    expect(await call<PluginConfig>(second, 'GET', SERVICE_URL, 200)).toMatchObject({
      version: 1,
      values: { greeting: 'kept' },
      applied: [],
    });
    expect((await beat(second, full('a', { configVersion: 1 }))).config).toEqual([
      { plugin: 'greeter', version: 2, values: { greeting: 'kept', retries: 7 } },
    ]);
    expect((await call<PluginConfig>(second, 'PUT', SERVICE_URL, 200, { values: { greeting: 'after' } })).version).toBe(3);
  });
});
