import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { EventList, PluginCommandState } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';
import { PluginCommandService } from './plugin-command.service.js';
import { TestClock, beat, commands, report, stateOf, until } from './plugin-command-fixtures.js';

/**
 * A plugin command's life as the API shows it (issue 22): queued, delivered by a beat reply,
 * succeeded or failed from the agent's outcome event, expired or failed (`no outcome`) past its
 * deadlines, and kept across a restart on the same data dir. Real routes; a clock the test moves;
 * the scheduled sweep called directly.
 */

const apps = testApps('plugin-command-states');

const TTL_MS = 5_000;
const OUTCOME_MS = 3_000;
const env = { VIGIL_COMMAND_TTL_MS: String(TTL_MS), VIGIL_COMMAND_OUTCOME_MS: String(OUTCOME_MS) };

async function send(app: NestFastifyApplication, path: string, payload: object = {}): Promise<PluginCommandState> {
  const answer = await app.inject({ method: 'POST', url: `/api/v1/instances/${path}`, payload });
  if (answer.statusCode !== 202) throw new Error(`${path} answered ${answer.statusCode}: ${answer.body}`);
  const body = answer.json() as { commands?: PluginCommandState[]; command?: PluginCommandState };
  return body.command ?? body.commands![0]!;
}

const backendEvents = async (app: NestFastifyApplication, type: string) =>
  ((await app.inject({ method: 'GET', url: `/api/v1/events?type=${type}&origin=backend` })).json() as EventList).events;

describe('plugin command states', () => {
  it('goes queued -> delivered -> succeeded on the agent outcome naming it, and failed with the reason the agent gives', async () => {
    const clock = new TestClock();
    const app = await apps.start(env, clock);
    await beat(app, 'i-1', ['template@1.0.0']);
    const install = await send(app, 'i-1/plugins/http-timing/install', { version: '2.0.0' });
    const uninstall = await send(app, 'i-1/plugins/template/uninstall');
    clock.time += 500;
    expect((await beat(app, 'i-1')).commands?.map((c) => c.id)).toEqual([install.id, uninstall.id]);
    expect(await stateOf(app, install.id)).toMatchObject({ state: 'delivered', updatedAt: clock.time, expiresAt: clock.time + OUTCOME_MS });

    await report(app, 'i-1', 'plugin.installed', { plugin: 'http-timing', command: install.id, version: '2.0.0' });
    await report(
      app,
      'i-1',
      'plugin.uninstall-failed',
      { plugin: 'template', command: uninstall.id, reason: 'its stop hook threw: boom' },
      'important',
    );
    expect(await stateOf(app, install.id)).toMatchObject({ state: 'succeeded', reason: null });
    expect(await stateOf(app, uninstall.id)).toMatchObject({ state: 'failed', reason: 'its stop hook threw: boom' });
    // A second outcome does not replace the first.
    await report(app, 'i-1', 'plugin.install-failed', { plugin: 'http-timing', command: install.id, reason: 'late' });
    expect(await stateOf(app, install.id)).toMatchObject({ state: 'succeeded' });
  });

  it("reads today's agents' disable and enable outcomes (`commandId`; `plugin.command-failed` with `error`)", async () => {
    const app = await apps.start(env, new TestClock());
    await beat(app, 'i-1', ['template@1.0.0']);
    const off = await send(app, 'i-1/plugins/template/disable');
    const on = await send(app, 'i-1/plugins/template/enable');
    await beat(app, 'i-1');
    await report(app, 'i-1', 'plugin.disabled', { plugin: 'template', commandId: off.id }, 'important');
    await report(app, 'i-1', 'plugin.command-failed', {
      plugin: 'template',
      commandId: on.id,
      error: 'no plugin named template is loaded',
    });
    expect(await stateOf(app, off.id)).toMatchObject({ state: 'succeeded' });
    expect(await stateOf(app, on.id)).toMatchObject({ state: 'failed', reason: 'no plugin named template is loaded' });
  });

  it("moves only on the agent's own event from the instance the command went to, not on the backend's plugin.installed from a beat", async () => {
    const app = await apps.start(env, new TestClock());
    await beat(app, 'i-1', ['template@1.0.0']);
    await beat(app, 'i-2', ['template@1.0.0']);
    const install = await send(app, 'i-1/plugins/http-timing/install');
    await beat(app, 'i-1');
    // Another instance naming the command does not move it.
    await report(app, 'i-2', 'plugin.installed', { plugin: 'http-timing', command: install.id });
    // The next full beat lists the plugin: the backend derives its own plugin.installed (origin backend).
    await beat(app, 'i-1', ['template@1.0.0', 'http-timing@2.0.0']);
    expect(await backendEvents(app, 'plugin.installed')).toHaveLength(1);
    expect(await stateOf(app, install.id)).toMatchObject({ state: 'delivered' });
  });

  it('expires a command not delivered within VIGIL_COMMAND_TTL_MS: withdrawn from the queue, with an event', async () => {
    const clock = new TestClock();
    const app = await apps.start(env, clock);
    const service = app.get(PluginCommandService);
    await beat(app, 'i-1', ['template@1.0.0']);
    const install = await send(app, 'i-1/plugins/http-timing/install');
    clock.time += TTL_MS - 1;
    await service.sweep();
    expect(await stateOf(app, install.id)).toMatchObject({ state: 'queued' });
    clock.time += 1;
    await service.sweep();
    expect(await stateOf(app, install.id)).toMatchObject({ state: 'expired', reason: 'not delivered in time', updatedAt: clock.time });
    expect((await beat(app, 'i-1')).commands).toBeUndefined();
    expect(await backendEvents(app, 'plugin.command-expired')).toEqual([
      expect.objectContaining({
        instanceId: 'i-1',
        attributes: expect.objectContaining({ commandId: install.id, reason: 'not delivered in time' }),
      }),
    ]);
  });

  it('fails a delivered command with no outcome within VIGIL_COMMAND_OUTCOME_MS; a late outcome still counts', async () => {
    const clock = new TestClock();
    const app = await apps.start(env, clock);
    const service = app.get(PluginCommandService);
    await beat(app, 'i-1', ['template@1.0.0']);
    const upgrade = await send(app, 'i-1/plugins/template/upgrade', { version: '2.0.0' });
    await beat(app, 'i-1');
    clock.time += OUTCOME_MS;
    await service.sweep();
    expect(await stateOf(app, upgrade.id)).toMatchObject({ state: 'failed', reason: 'no outcome' });
    expect(await backendEvents(app, 'plugin.command-unanswered')).toHaveLength(1);
    await report(app, 'i-1', 'plugin.upgraded', { plugin: 'template', command: upgrade.id, version: '2.0.0', from: '1.0.0' });
    expect(await stateOf(app, upgrade.id)).toMatchObject({ state: 'succeeded', reason: null });
  });

  it('keeps queued commands across a restart on the same data dir: the restarted backend delivers them, and no finished one again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-plugin-commands-restart-'));
    const first = await apps.start({ ...env, VIGIL_DATA_DIR: dir });
    await beat(first, 'i-1', ['template@1.0.0']);
    await beat(first, 'i-2', ['template@1.0.0']);
    const done = await send(first, 'i-2/plugins/template/disable');
    await beat(first, 'i-2');
    await report(first, 'i-2', 'plugin.disabled', { plugin: 'template', commandId: done.id });
    const waiting = await send(first, 'i-1/plugins/http-timing/install', { version: '2.0.0' });
    const before = await commands(first);
    apps.release(first);
    await first.close();
    expect(existsSync(join(dir, 'plugin-commands.json'))).toBe(true);
    expect(readFileSync(join(dir, 'plugin-commands.json'), 'utf8')).toContain(waiting.id);

    const second = await apps.start({ ...env, VIGIL_DATA_DIR: dir });
    expect(await commands(second)).toEqual(before);
    // The instances come back with their next beats (a full one after `unknown`).
    expect((await beat(second, 'i-2')).commands).toBeUndefined();
    expect((await beat(second, 'i-1')).commands).toEqual([
      { id: waiting.id, type: 'plugin.install', plugin: 'http-timing', version: '2.0.0' },
    ]);
    expect(await stateOf(second, waiting.id)).toMatchObject({ state: 'delivered' });
    expect(await stateOf(second, done.id)).toMatchObject({ state: 'succeeded' });
  });

  it('expires the queued commands of an instance that is removed', async () => {
    const clock = new TestClock();
    const app = await apps.start({ ...env, VIGIL_LOST_AFTER_MS: '1000', VIGIL_REMOVE_AFTER_MS: '2000' }, clock);
    await beat(app, 'i-1', ['template@1.0.0']);
    const install = await send(app, 'i-1/plugins/http-timing/install');
    // Silent past the remove timeout (and short of the command's TTL): the lease ticker removes it.
    // The clock moves in steps under the stall threshold (a bigger jump reads as a backend stall and extends leases).
    const removedBy = clock.time + 3_000;
    await until('the instance to be removed and its command expired', async () => {
      if (clock.time < removedBy) clock.time += 200;
      await new Promise((resolve) => setTimeout(resolve, 30));
      return (await stateOf(app, install.id))?.state === 'expired' ? true : undefined;
    });
    expect(await stateOf(app, install.id)).toMatchObject({ reason: 'instance removed' });
    expect(await backendEvents(app, 'instance.removed')).toHaveLength(1);
  });
});
