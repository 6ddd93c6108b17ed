import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BeatReply, PluginCommandState } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';
import { beat, commands, report, stateOf, until } from './plugin-command-fixtures.js';

/**
 * Plugin commands with the redis store: a command queued on one replica is delivered by a beat to
 * another, once; its states are the same on every replica; a new replica starts with them.
 * Needs Redis (127.0.0.1:6379 unless VIGIL_TEST_REDIS_URL): without it these fail, naming it; they never skip.
 */
const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `vigil-test-commands-${randomUUID().slice(0, 8)}`;

const apps = testApps('plugin-commands-redis');
afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`{${PREFIX}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const replica = (): Promise<NestFastifyApplication> =>
  apps.start({ VIGIL_STORE: 'redis', VIGIL_REDIS_URL: REDIS_URL, VIGIL_REDIS_PREFIX: PREFIX });

/** Beats to `app` until a reply carries commands (a beat every 150 ms: under the rate limit). */
async function beatUntilCommands(app: NestFastifyApplication, instanceId: string): Promise<NonNullable<BeatReply['commands']>> {
  return until(`a beat reply to ${instanceId} with commands`, async () => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return (await beat(app, instanceId)).commands;
  });
}

describe('plugin commands on Redis', () => {
  it('delivers a command queued on A by a beat to B, once; its states reach every replica, and a new replica starts with them', async () => {
    const a = await replica();
    const b = await replica();
    await beat(a, 'i-1', ['template@1.0.0']);
    await until('B to know the instance', async () => {
      const answer = await b.inject({ method: 'GET', url: '/api/v1/instances/i-1' });
      return answer.statusCode === 200 ? true : undefined;
    });
    const queued = await a.inject({
      method: 'POST',
      url: '/api/v1/instances/i-1/plugins/http-timing/install',
      payload: { version: '2.0.0' },
    });
    expect(queued.statusCode, queued.body).toBe(202);
    const [command] = (queued.json() as { commands: PluginCommandState[] }).commands;
    await until('B to list the queued command', async () => ((await stateOf(b, command!.id))?.state === 'queued' ? true : undefined));

    expect(await beatUntilCommands(b, 'i-1')).toEqual([
      { id: command!.id, type: 'plugin.install', plugin: 'http-timing', version: '2.0.0' },
    ]);
    await until('A to show it delivered', async () => ((await stateOf(a, command!.id))?.state === 'delivered' ? true : undefined));
    // The queue on A empties too: beats to A and B for a while carry it no more.
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await beat(a, 'i-1')).commands).toBeUndefined();
      expect((await beat(b, 'i-1')).commands).toBeUndefined();
    }

    await report(b, 'i-1', 'plugin.installed', { plugin: 'http-timing', command: command!.id, version: '2.0.0' });
    await until('A to show it succeeded', async () => ((await stateOf(a, command!.id))?.state === 'succeeded' ? true : undefined));
    const c = await replica();
    expect(await commands(c)).toEqual(await commands(a));
  });

  it('keeps a queued command in Redis when every replica restarts: the next one delivers it', async () => {
    const a = await replica();
    await beat(a, 'i-2', ['template@1.0.0']);
    const queued = await a.inject({ method: 'POST', url: '/api/v1/instances/i-2/plugins/template/uninstall' });
    expect(queued.statusCode, queued.body).toBe(202);
    const [command] = (queued.json() as { commands: PluginCommandState[] }).commands;
    apps.release(a);
    await a.close();
    const b = await replica();
    expect(await stateOf(b, command!.id)).toMatchObject({ state: 'queued' });
    expect(await beatUntilCommands(b, 'i-2')).toEqual([{ id: command!.id, type: 'plugin.uninstall', plugin: 'template' }]);
    await until('B to show it delivered', async () => ((await stateOf(b, command!.id))?.state === 'delivered' ? true : undefined));
  });
});
