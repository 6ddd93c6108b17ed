/**
 * What the plugin command tests share: an agent's beats and outcome events through the real
 * routes (`app.inject`, from loopback), the command list, a clock the test moves. Not built into
 * dist (tsconfig.build.json leaves out `*-fixtures.ts`).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { beatReplySchema, pluginCommandListSchema, type BeatReply, type PluginCommandState } from '@vigil/protocol';
import type { Clock } from '../common/clock.js';

/** A clock only the test moves. */
export class TestClock implements Clock {
  constructor(public time = 1_800_000_000_000) {}
  now(): number {
    return this.time;
  }
}

/** A full beat of an agent's instance running `plugins` (name@version), answered by the real beat route. */
export async function beat(
  app: NestFastifyApplication,
  instanceId: string,
  plugins: string[] = ['template@1.0.0'],
  service = 'orders',
): Promise<BeatReply> {
  const answer = await app.inject({
    method: 'PUT',
    url: '/api/v1/heartbeat',
    payload: {
      v: 1,
      kind: 'full',
      instanceId,
      heartbeatTime: Date.now(),
      lastHeartbeatTime: null,
      service,
      appName: service,
      artifact: service,
      appType: 'node',
      hostName: `host-${instanceId}`,
      ip: ['10.0.0.1'],
      processId: 42,
      dynamicInstall: false,
      version: '0.1.0',
      plugins: plugins.map((p) => {
        const [name, version] = p.split('@');
        return { name, version, extInfo: {} };
      }),
    },
  });
  if (answer.statusCode !== 200) throw new Error(`beat answered ${answer.statusCode}: ${answer.body}`);
  return beatReplySchema.parse(answer.json());
}

/** An agent's outcome event for a command, sent as an event batch. */
export async function report(
  app: NestFastifyApplication,
  instanceId: string,
  type: string,
  attributes: Record<string, string>,
  level: 'normal' | 'important' = 'normal',
): Promise<void> {
  const answer = await app.inject({
    method: 'POST',
    url: '/api/v1/events',
    payload: { v: 1, instanceId, dropped: 0, events: [{ time: Date.now(), level, type, message: `${type} (test)`, attributes }] },
  });
  if (answer.statusCode !== 202) throw new Error(`event batch answered ${answer.statusCode}: ${answer.body}`);
}

/** `GET /api/v1/plugin-commands` with a query string. */
export async function commands(app: NestFastifyApplication, query = ''): Promise<PluginCommandState[]> {
  const answer = await app.inject({ method: 'GET', url: `/api/v1/plugin-commands${query && `?${query}`}` });
  if (answer.statusCode !== 200) throw new Error(`plugin-commands answered ${answer.statusCode}: ${answer.body}`);
  return pluginCommandListSchema.parse(answer.json()).commands;
}

/** The state of one command, as the API lists it. */
export async function stateOf(app: NestFastifyApplication, id: string): Promise<PluginCommandState | undefined> {
  return (await commands(app)).find((command) => command.id === id);
}

/** Polls `probe` until it answers something (generous timeout; no elapsed-time bound). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
