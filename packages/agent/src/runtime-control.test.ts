/**
 * Disabling and enabling a plugin at run time, commanded through beat replies, in real child
 * processes: the app keeps calling a function the plugin intercepts and prints what it gets.
 */
import path from 'node:path';
import type { FullBeat, PluginCommand } from './protocol';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { backendLike, backendStandIn } from './test-support/backend-stand-in';
import { attach, fixtures, requireBuilt, runNode } from './test-support/node-process';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(['esm', 'cjs'] as const)('plugin commands to a %s app', (kind) => {
  beforeAll(() => requireBuilt());

  it('unpatch the plugin on disable, patch it again on enable, and report each outcome', async () => {
    let commands: PluginCommand[] = [];
    const standIn = await backendStandIn((request, index) => {
      const answer = backendLike(request, index);
      if (!request.path.endsWith('/heartbeat') || commands.length === 0) return answer;
      const delivered = commands;
      commands = [];
      return { ...answer, body: { ...(answer.body as object), commands: delivered } };
    });
    cleanups.push(standIn.close);
    const app = runNode(path.join(fixtures, 'apps', 'shop'), [...attach[kind], kind === 'esm' ? 'watch.mjs' : 'watch.cjs'], {
      VIGIL_BACKEND_URL: standIn.url,
      VIGIL_PLUGINS_DIR: path.join(fixtures, 'plugins'),
      VIGIL_PLUGINS: 'probe',
      VIGIL_HEARTBEAT_INTERVAL: '100',
      VIGIL_EVENT_SEND_INTERVAL: '100',
    });
    cleanups.push(() => app.stop());
    const printed = () => app.stdout().trimEnd().split('\n');
    const eventsOf = (type: string) => standIn.events().filter((event) => event.type === type);

    await vi.waitFor(() => expect(printed()).toEqual(['hello x!']), { timeout: 10_000 });
    commands = [{ id: 'off-1', type: 'plugin.disable', plugin: 'probe' }];
    await vi.waitFor(() => expect(printed()).toEqual(['hello x!', 'hello x']), { timeout: 10_000 });
    await vi.waitFor(() => expect(eventsOf('plugin.disabled')).toHaveLength(1), { timeout: 10_000 });
    expect(eventsOf('plugin.disabled')[0]).toMatchObject({
      level: 'important',
      attributes: { commandId: 'off-1', plugin: 'probe' },
    });
    // It does nothing now: the next full beat lists it as disabled.
    const lastFull = () =>
      (
        standIn
          .beats()
          .filter((beat) => beat.kind === 'full')
          .at(-1) as FullBeat
      ).plugins.map((plugin) => `${plugin.name}${plugin.enabled === false ? ' (disabled)' : ''}`);
    await vi.waitFor(() => expect(lastFull()).toEqual(['probe (disabled)']), { timeout: 10_000 });

    commands = [
      { id: 'on-1', type: 'plugin.enable', plugin: 'probe' },
      { id: 'on-2', type: 'plugin.enable', plugin: 'ghost' },
    ];
    await vi.waitFor(() => expect(printed()).toEqual(['hello x!', 'hello x', 'hello x!']), { timeout: 10_000 });
    await vi.waitFor(() => expect(eventsOf('plugin.command-failed')).toHaveLength(1), { timeout: 10_000 });
    expect(eventsOf('plugin.enabled')).toMatchObject([{ level: 'normal', attributes: { commandId: 'on-1', plugin: 'probe' } }]);
    expect(eventsOf('plugin.command-failed')).toMatchObject([
      {
        level: 'important',
        attributes: { commandId: 'on-2', plugin: 'ghost', error: 'no plugin named ghost is loaded' },
      },
    ]);
    await vi.waitFor(() => expect(lastFull()).toEqual(['probe']), { timeout: 10_000 });
  }, 30_000);
});
