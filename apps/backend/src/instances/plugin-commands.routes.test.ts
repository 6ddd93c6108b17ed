import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BULK_COMMAND_MAX_INSTANCES, LIMITS, pluginCommandSentSchema } from '@vigil/protocol';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';
import { TestClock, beat, commands } from './plugin-command-fixtures.js';

/**
 * The plugin command routes as API clients meet them (issue 22): install, uninstall and upgrade
 * on one instance and on many, each refusal naming the field, all-or-nothing bulk commands, the
 * per-instance cap, the list's filters, and access control. Real routes through Fastify.
 */

const apps = testApps('plugin-commands');

const post = (app: NestFastifyApplication, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers, ...(payload !== undefined && { payload: payload as object }) });

describe('plugin command routes', () => {
  it('queues an install with its version for one instance: 202 with the queued state, carried by the next beat reply once', async () => {
    const app = await apps.start();
    await beat(app, 'i-1', ['template@1.0.0']);
    const answer = await post(app, '/api/v1/instances/i-1/plugins/http-timing/install', { version: '2.0.0' });
    expect(answer.statusCode, answer.body).toBe(202);
    const {
      command: state,
      commands: [same],
    } = pluginCommandSentSchema.parse(answer.json());
    expect(same).toEqual(state);
    expect(state).toMatchObject({
      instanceId: 'i-1',
      service: 'orders',
      type: 'plugin.install',
      plugin: 'http-timing',
      version: '2.0.0',
      state: 'queued',
      reason: null,
    });
    expect(state.expiresAt - state.createdAt).toBe(86_400_000);
    expect(await commands(app)).toEqual([state]);

    expect((await beat(app, 'i-1')).commands).toEqual([{ id: state.id, type: 'plugin.install', plugin: 'http-timing', version: '2.0.0' }]);
    expect((await beat(app, 'i-1')).commands).toBeUndefined();
    expect((await commands(app))[0]).toMatchObject({ id: state.id, state: 'delivered' });
  });

  it('queues uninstall and upgrade only for a plugin the instance runs, and a version only for install and upgrade', async () => {
    const app = await apps.start();
    await beat(app, 'i-1', ['template@1.0.0']);
    const uninstall = await post(app, '/api/v1/instances/i-1/plugins/template/uninstall');
    expect(uninstall.statusCode, uninstall.body).toBe(202);
    expect(uninstall.json().commands[0]).toMatchObject({ type: 'plugin.uninstall', version: null });
    const upgrade = await post(app, '/api/v1/instances/i-1/plugins/template/upgrade', { version: '1.1.0-beta.1' });
    expect(upgrade.statusCode, upgrade.body).toBe(202);

    const missing = await post(app, '/api/v1/instances/i-1/plugins/ghost/uninstall');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'unknown plugin', issues: ['plugin: ghost is not loaded on i-1'] });
    const unknown = await post(app, '/api/v1/instances/nope/plugins/template/install', {});
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().issues).toEqual(['id: no instance nope']);

    const versioned = await post(app, '/api/v1/instances/i-1/plugins/template/uninstall', { version: '1.0.0' });
    expect(versioned.statusCode).toBe(400);
    expect(versioned.json().issues).toEqual(['version: only install and upgrade take a version, not plugin.uninstall']);
    const badVersion = await post(app, '/api/v1/instances/i-1/plugins/template/upgrade', { version: '../2' });
    expect(badVersion.statusCode).toBe(400);
    expect(badVersion.json().issues).toEqual([expect.stringMatching(/^version: must be a version/)]);
    const typo = await post(app, '/api/v1/instances/i-1/plugins/template/upgrade', { versoin: '2.0.0' });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().issues).toEqual([expect.stringContaining('versoin')]);
    const badName = await post(app, `/api/v1/instances/i-1/plugins/${encodeURIComponent('../etc')}/install`, {});
    expect(badName.statusCode).toBe(400);
    expect(badName.json().issues).toEqual([expect.stringMatching(/^plugin: must be a plugin package name/)]);
    // Nothing was queued by a refused request.
    expect((await commands(app)).map((c) => c.type).sort()).toEqual(['plugin.uninstall', 'plugin.upgrade']);
  });

  it('answers disable and enable as before, `{ command }`, now with the whole state (and in `commands`)', async () => {
    const app = await apps.start();
    await beat(app, 'i-1', ['template@1.0.0']);
    const answer = await post(app, '/api/v1/instances/i-1/plugins/template/disable');
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json().command).toMatchObject({ type: 'plugin.disable', plugin: 'template', state: 'queued', instanceId: 'i-1' });
    expect(answer.json().commands).toEqual([answer.json().command]);
    const reply = await beat(app, 'i-1');
    expect(reply.commands).toEqual([{ id: answer.json().command.id, type: 'plugin.disable', plugin: 'template' }]);
  });

  it("commands a service's live instances: those running the plugin for uninstall, every live one for install", async () => {
    const app = await apps.start();
    await beat(app, 'o-1', ['template@1.0.0']);
    await beat(app, 'o-2', []);
    await beat(app, 'o-3', ['template@1.0.0']);
    await beat(app, 'b-1', ['template@1.0.0'], 'billing');
    // o-3 says goodbye: offline instances are left out.
    await app.inject({
      method: 'PUT',
      url: '/api/v1/heartbeat',
      payload: { v: 1, kind: 'goodbye', instanceId: 'o-3', heartbeatTime: Date.now(), lastHeartbeatTime: null },
    });
    const install = await post(app, '/api/v1/plugins/http-timing/install', { service: 'orders', version: '2.0.0' });
    expect(install.statusCode, install.body).toBe(202);
    expect(
      install
        .json()
        .commands.map((c: { instanceId: string }) => c.instanceId)
        .sort(),
    ).toEqual(['o-1', 'o-2']);
    const uninstall = await post(app, '/api/v1/plugins/template/uninstall', { service: 'orders' });
    expect(uninstall.statusCode, uninstall.body).toBe(202);
    expect(uninstall.json().commands.map((c: { instanceId: string }) => c.instanceId)).toEqual(['o-1']);

    const none = await post(app, '/api/v1/plugins/ghost/upgrade', { service: 'orders', version: '2.0.0' });
    expect(none.statusCode).toBe(404);
    expect(none.json().issues).toEqual(['service: orders has no live instance running ghost']);
    const empty = await post(app, '/api/v1/plugins/template/install', { service: 'nobody' });
    expect(empty.statusCode).toBe(404);
    expect(empty.json().issues).toEqual(['service: nobody has no live agent instance']);
    expect(await commands(app, 'service=orders&plugin=http-timing')).toHaveLength(2);
    expect(await commands(app, 'instanceId=o-1')).toHaveLength(2);
    expect(await commands(app, 'service=billing')).toEqual([]);
  });

  it('commands a list of ids all or nothing: unknown ids listed in a 404, instances without the plugin in a 404, nothing queued', async () => {
    const app = await apps.start();
    await beat(app, 'i-1', ['template@1.0.0']);
    await beat(app, 'i-2', []);
    const unknown = await post(app, '/api/v1/plugins/template/install', { instanceIds: ['i-1', 'nope', 'i-2', 'gone'] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: 'unknown instances',
      issues: ['instanceIds.1: no instance nope', 'instanceIds.3: no instance gone'],
    });
    const without = await post(app, '/api/v1/plugins/template/uninstall', { instanceIds: ['i-1', 'i-2'] });
    expect(without.statusCode).toBe(404);
    expect(without.json().issues).toEqual(['instanceIds.1: template is not loaded on i-2']);
    expect(await commands(app)).toEqual([]);
    const both = await post(app, '/api/v1/plugins/template/install', { instanceIds: ['i-1', 'i-2'] });
    expect(both.statusCode, both.body).toBe(202);
    expect(both.json().commands.map((c: { instanceId: string }) => c.instanceId)).toEqual(['i-1', 'i-2']);
  });

  it('refuses a bulk body naming the field: both or neither of service and instanceIds, too many ids, an id twice', async () => {
    const app = await apps.start();
    await beat(app, 'i-1');
    const issues = async (payload: unknown) => {
      const answer = await post(app, '/api/v1/plugins/template/install', payload);
      expect(answer.statusCode, answer.body).toBe(400);
      return answer.json().issues as string[];
    };
    expect(await issues({ service: 'orders', instanceIds: ['i-1'] })).toEqual(['service: give exactly one of service and instanceIds']);
    expect(await issues({})).toEqual(['service: give exactly one of service and instanceIds']);
    const many = Array.from({ length: BULK_COMMAND_MAX_INSTANCES + 1 }, (_, i) => `i-${i}`);
    expect(await issues({ instanceIds: many })).toEqual([`instanceIds: at most ${BULK_COMMAND_MAX_INSTANCES} instances per command`]);
    expect(await issues({ instanceIds: ['i-1', 'i-1'] })).toEqual(['instanceIds: must not name an instance twice']);
    expect(await issues({ service: 'orders', version: 'two point oh' })).toEqual([expect.stringMatching(/^version: /)]);
  });

  it(`keeps at most ${LIMITS.commandsPerReply} waiting per instance: past that 400 naming it, a bulk command refused whole`, async () => {
    const app = await apps.start();
    await beat(app, 'busy', ['template@1.0.0']);
    await beat(app, 'idle', ['template@1.0.0']);
    for (let i = 0; i < LIMITS.commandsPerReply; i++) {
      expect((await post(app, '/api/v1/instances/busy/plugins/template/disable')).statusCode).toBe(202);
    }
    const refused = await post(app, '/api/v1/instances/busy/plugins/template/enable');
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({
      error: 'too many pending commands',
      issues: [`id: busy has ${LIMITS.commandsPerReply} commands waiting; it has not beaten to collect them`],
    });
    const bulk = await post(app, '/api/v1/plugins/template/upgrade', { instanceIds: ['idle', 'busy'], version: '2.0.0' });
    expect(bulk.statusCode).toBe(400);
    expect(bulk.json().issues).toEqual([
      `instanceIds.1: busy has ${LIMITS.commandsPerReply} commands waiting; it has not beaten to collect them`,
    ]);
    expect(await commands(app, 'instanceId=idle')).toEqual([]);
    // A beat collects them; the instance takes commands again.
    expect((await beat(app, 'busy')).commands).toHaveLength(LIMITS.commandsPerReply);
    expect((await post(app, '/api/v1/instances/busy/plugins/template/enable')).statusCode).toBe(202);
  });

  it('lists newest first, at most `limit`, and refuses a bad limit naming it', async () => {
    const clock = new TestClock();
    const app = await apps.start({}, clock);
    await beat(app, 'i-1', ['template@1.0.0', 'other@1.0.0']);
    for (const plugin of ['template', 'other', 'template']) {
      clock.time += 1_000;
      await post(app, `/api/v1/instances/i-1/plugins/${plugin}/disable`);
    }
    const all = await commands(app);
    expect(all.map((c) => [c.plugin, c.createdAt - all[2]!.createdAt])).toEqual([
      ['template', 2_000],
      ['other', 1_000],
      ['template', 0],
    ]);
    expect(await commands(app, 'limit=2')).toEqual(all.slice(0, 2));
    const bad = await app.inject({ method: 'GET', url: '/api/v1/plugin-commands?limit=0' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues).toEqual(['limit: must be at least 1']);
  });

  it('refuses with 500 naming the path and reason when the data dir cannot hold the commands, and queues none', async () => {
    const parent = join(mkdtempSync(join(tmpdir(), 'vigil-plugin-commands-enotdir-')), 'a-file');
    writeFileSync(parent, 'not a directory');
    const app = await apps.start({ VIGIL_DATA_DIR: join(parent, 'data') });
    await beat(app, 'i-1');
    const refused = await post(app, '/api/v1/instances/i-1/plugins/template/disable');
    expect(refused.statusCode).toBe(500);
    expect(refused.json()).toMatchObject({ error: 'cannot save plugin commands', path: join(parent, 'data', 'plugin-commands.json') });
    expect(refused.json().reason).toMatch(/ENOTDIR/);
    expect(await commands(app)).toEqual([]);
    expect((await beat(app, 'i-1')).commands).toBeUndefined();
  });

  it('is guarded as the rest of the API: 401 without the API token once tokens are set', async () => {
    const token = 'api-token-0123456789abc';
    const app = await apps.start({ VIGIL_API_TOKENS: token });
    await beat(app, 'i-1');
    const bearer = { authorization: `Bearer ${token}` };
    expect((await post(app, '/api/v1/instances/i-1/plugins/x/install', {})).statusCode).toBe(401);
    expect((await post(app, '/api/v1/plugins/x/install', { service: 'orders' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/plugin-commands' })).statusCode).toBe(401);
    const allowed = await post(app, '/api/v1/plugins/x/install', { service: 'orders' }, bearer);
    expect(allowed.statusCode, allowed.body).toBe(202);
    const listed = await app.inject({ method: 'GET', url: '/api/v1/plugin-commands', headers: bearer });
    expect(listed.json().commands).toHaveLength(1);
  });
});
