/**
 * The protocol's limits (`LIMITS`, docs/protocol.md "Limits") over HTTP against the real backend:
 * for each, the value at the limit is accepted and kept, one over is refused with 400 naming the
 * field and nothing is registered; and plugin commands come at most `commandsPerReply` to a
 * reply, with at most that many pending per instance (docs/backend.md).
 */
import { LIMITS, type BeatReply, type EventList, type FullBeat, type PluginCommand } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullBeat, killAll, startBackend, type Backend } from './harness.js';

const json = { 'content-type': 'application/json' };

/** `count` distinct entries `k0: value`, `k1: value`, … */
const entries = (count: number, value = 'v') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));

/** `count` distinct IPv4 addresses. */
const ips = (count: number) => Array.from({ length: count }, (_, i) => `10.7.${Math.floor(i / 250)}.${(i % 250) + 1}`);

describe('the protocol limits, over HTTP', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '60000' });
  });
  afterAll(() => killAll());

  const send = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(
      `${backend.url}${path}`,
      body === undefined ? { method } : { method, headers: json, body: JSON.stringify(body) },
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const beat = (body: unknown) => send('PUT', '/api/v1/heartbeat', body);
  const light = (instanceId: string) => beat({ v: 1, kind: 'light', instanceId, heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() });
  const command = (instanceId: string) => send('POST', `/api/v1/instances/${instanceId}/plugins/template/disable`);

  /**
   * A full beat of `${name}-at` with `atLimit` is registered and kept as sent (`kept` reads the
   * field back); one of `${name}-over` with `overLimit` gets 400 `invalid heartbeat` whose issues
   * name `field`, and is not registered.
   */
  async function atAndOver(
    name: string,
    atLimit: Partial<FullBeat>,
    overLimit: Partial<FullBeat>,
    field: string,
    kept: (instance: NonNullable<Awaited<ReturnType<Backend['instance']>>>) => unknown,
    expected: unknown,
  ): Promise<void> {
    const accepted = await beat(fullBeat(`${name}-at`, atLimit));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body).toMatchObject({ result: 'registered' });
    const instance = await backend.instance(`${name}-at`);
    expect(instance).toBeDefined();
    expect(kept(instance!)).toEqual(expected);

    const refused = await beat(fullBeat(`${name}-over`, overLimit));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid heartbeat');
    const issues = refused.body.issues as string[];
    expect(issues.map((issue) => issue.slice(0, issue.indexOf(': ')))).toEqual([field]);
    expect(await backend.instance(`${name}-over`)).toBeUndefined();
  }

  it(`hostNameLength: a host name of ${LIMITS.hostNameLength} characters is accepted, one more refused with 400 naming hostName`, async () => {
    const at = 'h'.repeat(LIMITS.hostNameLength);
    await atAndOver('host', { hostName: at }, { hostName: `${at}h` }, 'hostName', (i) => i.hostName, at);
  });

  it(`ips: ${LIMITS.ips} addresses are accepted, one more refused with 400 naming ip`, async () => {
    await atAndOver('ips', { ip: ips(LIMITS.ips) }, { ip: ips(LIMITS.ips + 1) }, 'ip', (i) => i.ip, ips(LIMITS.ips));
  });

  it(`extInfoKeyLength: ext-info, metadata and event attribute keys of ${LIMITS.extInfoKeyLength} characters are accepted, one more refused with 400 naming the key`, async () => {
    const key = 'k'.repeat(LIMITS.extInfoKeyLength);
    const plugin = (extInfo: Record<string, string>) => [{ name: 'template', version: '1.0.0', extInfo }];
    await atAndOver(
      'extinfo-key',
      { plugins: plugin({ [key]: 'v' }) },
      { plugins: plugin({ [`${key}k`]: 'v' }) },
      `plugins.0.extInfo.${key}k`,
      (i) => i.plugins[0]?.extInfo,
      { [key]: 'v' },
    );
    await atAndOver(
      'metadata-key',
      { metadata: { [key]: 'v' } },
      { metadata: { [`${key}k`]: 'v' } },
      `metadata.${key}k`,
      (i) => i.metadata,
      { [key]: 'v' },
    );
    await expectEventLimit('attribute-key', { [key]: 'v' }, { [`${key}k`]: 'v' }, `events.0.attributes.${key}k`);
  });

  it(`extInfoValueLength: ext-info, metadata and event attribute values of ${LIMITS.extInfoValueLength} characters are accepted, one more refused with 400 naming the key`, async () => {
    const value = 'v'.repeat(LIMITS.extInfoValueLength);
    const plugin = (extInfo: Record<string, string>) => [{ name: 'template', version: '1.0.0', extInfo }];
    await atAndOver(
      'extinfo-value',
      { plugins: plugin({ status: value }) },
      { plugins: plugin({ status: `${value}v` }) },
      'plugins.0.extInfo.status',
      (i) => i.plugins[0]?.extInfo,
      { status: value },
    );
    await atAndOver(
      'metadata-value',
      { metadata: { owner: value } },
      { metadata: { owner: `${value}v` } },
      'metadata.owner',
      (i) => i.metadata,
      { owner: value },
    );
    await expectEventLimit('attribute-value', { plugin: value }, { plugin: `${value}v` }, 'events.0.attributes.plugin');
  });

  it(`extInfoEntries: a plugin with ${LIMITS.extInfoEntries} ext-info entries is accepted, one more refused with 400 naming its extInfo`, async () => {
    const plugin = (extInfo: Record<string, string>) => [{ name: 'template', version: '1.0.0', extInfo }];
    await atAndOver(
      'extinfo-entries',
      { plugins: plugin(entries(LIMITS.extInfoEntries)) },
      { plugins: plugin(entries(LIMITS.extInfoEntries + 1)) },
      'plugins.0.extInfo',
      (i) => Object.keys(i.plugins[0]?.extInfo ?? {}).length,
      LIMITS.extInfoEntries,
    );
  });

  it(`metadataEntries: ${LIMITS.metadataEntries} metadata entries are accepted, one more refused with 400 naming metadata`, async () => {
    await atAndOver(
      'metadata-entries',
      { metadata: entries(LIMITS.metadataEntries) },
      { metadata: entries(LIMITS.metadataEntries + 1) },
      'metadata',
      (i) => Object.keys(i.metadata).length,
      LIMITS.metadataEntries,
    );
  });

  it(`eventAttributes: an event with ${LIMITS.eventAttributes} attributes is accepted, one more refused with 400 naming its attributes`, async () => {
    await expectEventLimit('attributes', entries(LIMITS.eventAttributes), entries(LIMITS.eventAttributes + 1), 'events.0.attributes');
  });

  /**
   * An event with `atLimit` attributes from a registered instance is accepted (202) and listed
   * with them; one with `overLimit` gets 400 naming `field`, and is not recorded.
   */
  async function expectEventLimit(
    name: string,
    atLimit: Record<string, string>,
    overLimit: Record<string, string>,
    field: string,
  ): Promise<void> {
    const instanceId = `events-${name}`;
    expect((await beat(fullBeat(instanceId))).status).toBe(200);
    const batch = (type: string, attributes: Record<string, string>) => ({
      v: 1,
      instanceId,
      dropped: 0,
      events: [{ time: Date.now(), level: 'normal', type, message: name, attributes }],
    });
    const accepted = await send('POST', '/api/v1/events', batch('limits.at', atLimit));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect(accepted.body).toEqual({ accepted: 1 });
    const refused = await send('POST', '/api/v1/events', batch('limits.over', overLimit));
    expect(refused.status).toBe(400);
    const issues = refused.body.issues as string[];
    expect(issues.map((issue) => issue.slice(0, issue.indexOf(': ')))).toEqual([field]);

    const listed = (await (await fetch(`${backend.url}/api/v1/events?instanceId=${instanceId}&type=limits.`)).json()) as EventList;
    expect(listed.events.map((e) => e.type)).toEqual(['limits.at']);
    // Kept as sent, with the agent's time the backend adds.
    expect(listed.events[0]?.attributes).toEqual({ ...atLimit, agentTime: expect.any(String) });
  }

  it(`commandsPerReply: ${LIMITS.commandsPerReply} pending commands come in one reply; past ${LIMITS.commandsPerReply} pending a command is refused with 400 until a beat collects them, then comes in the next reply`, async () => {
    const id = 'commands-1';
    expect((await beat(fullBeat(id, { plugins: [{ name: 'template', version: '1.0.0', extInfo: {} }] }))).status).toBe(200);
    const queued: string[] = [];
    for (let i = 0; i < LIMITS.commandsPerReply; i++) {
      const sent = await command(id);
      expect(sent.status).toBe(202);
      queued.push((sent.body.command as PluginCommand).id);
    }
    // docs/backend.md: at most 32 pending per instance.
    const refused = await command(id);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'too many pending commands', issues: [expect.stringContaining(id)] });

    const reply = (await light(id)).body as unknown as BeatReply;
    expect(reply.commands?.map((c) => c.id)).toEqual(queued);
    // Each delivered once: the next reply has none, and a new command can be queued again.
    expect(((await light(id)).body as unknown as BeatReply).commands).toBeUndefined();
    const later = await command(id);
    expect(later.status).toBe(202);
    // The answer is the command's state (issue 22); the reply carries the command itself.
    const { id: laterId } = later.body.command as PluginCommand;
    expect(((await light(id)).body as unknown as BeatReply).commands).toEqual([
      { id: laterId, type: 'plugin.disable', plugin: 'template' },
    ]);
  });
});
