import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import {
  NO_OUTCOME,
  PluginCommandLog,
  delivered,
  finished,
  instanceGone,
  newCommand,
  outcomeOf,
  timedOut,
  wireCommand,
  type StoredCommand,
} from './plugin-command-log.js';
import { PluginCommandFile } from './plugin-command-store.js';

const timings = { ttlMs: 1_000, outcomeMs: 200 };

const command = (id: string, instanceId = 'i-1', now = 100): StoredCommand =>
  newCommand({ id, instanceId, service: 'orders', type: 'plugin.install', plugin: 'p', version: '2.0.0' }, now, timings);

const agentEvent = (type: string, attributes: Record<string, string>, origin: 'agent' | 'backend' = 'agent'): EventRecord => ({
  id: '1',
  time: 5,
  level: 'normal',
  type,
  origin,
  message: `${type} happened`,
  instanceId: 'i-1',
  attributes,
});

describe('a plugin command state', () => {
  it('moves queued -> delivered -> succeeded | failed, each step a new revision; finished ones stay', () => {
    const queued = command('c1');
    expect(queued).toMatchObject({ state: 'queued', expiresAt: 1_100, rev: 1 });
    const out = delivered(queued, 150, timings)!;
    expect(out).toMatchObject({ state: 'delivered', updatedAt: 150, expiresAt: 350, rev: 2 });
    expect(delivered(out, 160, timings)).toBeNull();
    expect(finished(out, 'succeeded', null, 170)).toMatchObject({ state: 'succeeded', reason: null, rev: 3 });
    const failed = finished(out, 'failed', 'boom', 170)!;
    expect(failed).toMatchObject({ state: 'failed', reason: 'boom' });
    expect(finished(failed, 'succeeded', null, 180)).toBeNull();
    // An outcome before the delivery was written still counts.
    expect(finished(queued, 'succeeded', null, 120)).toMatchObject({ state: 'succeeded' });
  });

  it('expires when queued past its TTL, fails with no outcome when delivered past the outcome bound; a late outcome still counts', () => {
    const queued = command('c1');
    expect(timedOut(queued, 1_099)).toBeNull();
    const expired = timedOut(queued, 1_100)!;
    expect(expired).toMatchObject({ state: 'expired', reason: 'not delivered in time' });
    expect(timedOut(expired, 5_000)).toBeNull();
    const unanswered = timedOut(delivered(queued, 150, timings)!, 350)!;
    expect(unanswered).toMatchObject({ state: 'failed', reason: NO_OUTCOME });
    expect(finished(unanswered, 'succeeded', null, 400)).toMatchObject({ state: 'succeeded', reason: null });
    expect(finished(expired, 'failed', 'late', 400)).toMatchObject({ state: 'failed', reason: 'late' });
    expect(instanceGone(queued, 200)).toMatchObject({ state: 'expired', reason: 'instance removed' });
    expect(instanceGone(delivered(queued, 150, timings)!, 200)).toBeNull();
  });

  it('goes out on the wire as id, type, plugin and the version when there is one', () => {
    expect(wireCommand(command('c1'))).toEqual({ id: 'c1', type: 'plugin.install', plugin: 'p', version: '2.0.0' });
    expect(wireCommand({ ...command('c2'), version: null })).toEqual({ id: 'c2', type: 'plugin.install', plugin: 'p' });
  });
});

describe('outcome events', () => {
  it('names the command by `command` (or `commandId`): the success types succeed, any plugin.*-failed fails with its reason', () => {
    expect(outcomeOf(agentEvent('plugin.installed', { plugin: 'p', command: 'c1', version: '2' }))).toEqual({
      commandId: 'c1',
      outcome: 'succeeded',
      reason: null,
    });
    for (const type of ['plugin.upgraded', 'plugin.uninstalled', 'plugin.enabled', 'plugin.disabled']) {
      expect(outcomeOf(agentEvent(type, { command: 'c1' }))?.outcome).toBe('succeeded');
    }
    expect(outcomeOf(agentEvent('plugin.install-failed', { command: 'c1', reason: 'no such version' }))).toMatchObject({
      outcome: 'failed',
      reason: 'no such version',
    });
    expect(outcomeOf(agentEvent('plugin.command-failed', { commandId: 'c2', error: 'no plugin named x' }))).toEqual({
      commandId: 'c2',
      outcome: 'failed',
      reason: 'no plugin named x',
    });
    expect(outcomeOf(agentEvent('plugin.uninstall-failed', { command: 'c3' }))?.reason).toBe('plugin.uninstall-failed happened');
  });

  it("ignores the backend's own events, events naming no command, and other types", () => {
    expect(outcomeOf(agentEvent('plugin.installed', { plugin: 'p', command: 'c1' }, 'backend'))).toBeNull();
    expect(outcomeOf(agentEvent('plugin.installed', { plugin: 'p' }))).toBeNull();
    expect(outcomeOf(agentEvent('plugin.config-rejected', { plugin: 'p', command: 'c1' }))).toBeNull();
    expect(outcomeOf(agentEvent('agent.failed', { command: 'c1' }))).toBeNull();
  });
});

describe('the command log', () => {
  it('keeps the newer revision, lists newest first by filter, and finds what is due and queued per instance', () => {
    const log = new PluginCommandLog();
    const a = command('a', 'i-1', 100);
    const b = command('b', 'i-2', 200);
    log.set(a);
    log.set(b);
    const aOut = delivered(a, 300, timings)!;
    log.set(aOut);
    log.set(a); // an older revision arriving late
    expect(log.get('a')?.state).toBe('delivered');
    expect(log.list({}, 10).map((c) => c.id)).toEqual(['b', 'a']);
    expect(log.list({ instanceId: 'i-1' }, 10).map((c) => c.id)).toEqual(['a']);
    expect(log.list({}, 1).map((c) => c.id)).toEqual(['b']);
    expect(log.queuedFor('i-1')).toEqual([]);
    expect(log.queuedFor('i-2').map((c) => c.id)).toEqual(['b']);
    expect(log.due(499).map((c) => c.id)).toEqual([]);
    expect(log.due(500).map((c) => c.id)).toEqual(['a']);
    expect(log.active()).toBe(2);
    log.remove('b');
    expect(log.queuedFor('i-2')).toEqual([]);
  });

  it('forgets the oldest finished commands beyond the history, never a queued or delivered one', () => {
    const log = new PluginCommandLog();
    for (let i = 0; i < 5; i++) log.set(finished(command(`done-${i}`, 'i-1', i), 'succeeded', null, 10)!);
    log.set(command('waiting', 'i-1', 0));
    expect(log.surplus(3).sort()).toEqual(['done-0', 'done-1']);
    expect(log.surplus(5)).toEqual([]);
  });
});

describe('the command file', () => {
  it('writes the whole log atomically (no temp file left), every change of a burst included, and reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-command-file-'));
    const log = new PluginCommandLog();
    const file = new PluginCommandFile(join(dir, 'plugin-commands.json'), log);
    log.set(command('a'));
    const first = file.add();
    log.set(command('b'));
    const second = file.add();
    log.set(command('c'));
    const third = file.add();
    await Promise.all([first, second, third]);
    expect(readdirSync(dir)).toEqual(['plugin-commands.json']);
    const again = await new PluginCommandFile(join(dir, 'plugin-commands.json'), new PluginCommandLog()).load();
    expect(again.problem).toBeUndefined();
    expect(again.commands.map((c) => c.id).sort()).toEqual(['a', 'b', 'c']);
    expect(JSON.parse(readFileSync(join(dir, 'plugin-commands.json'), 'utf8')).version).toBe(1);
  });

  it('moves an unreadable file aside and starts with no commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-command-file-'));
    writeFileSync(join(dir, 'plugin-commands.json'), '{"version":1,"commands":[{"id":3}]}');
    const loaded = await new PluginCommandFile(join(dir, 'plugin-commands.json'), new PluginCommandLog()).load();
    expect(loaded.commands).toEqual([]);
    expect(loaded.problem).toMatch(/is not a plugin commands file: commands\.0\.id: .*; moved it to .*unreadable/);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^plugin-commands\.json\.unreadable-/)]);
  });
});
