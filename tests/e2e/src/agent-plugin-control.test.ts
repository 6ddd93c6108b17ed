import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList, PluginCommandState } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, repoRoot, startBackend, startProcess, waitFor, type Backend } from './harness.js';

const require = createRequire(import.meta.url);

/** A service that opens and closes a server every 100 ms: the template plugin greets each listen while enabled. */
function startListeningLoop(backendUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-control-'));
  mkdirSync(join(dir, 'vigil'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      'service.name=e2e-control',
      'heartbeat.interval=300',
      'event.send.interval=100',
      `backend.url=${backendUrl}`,
      `plugins.dir=${join(repoRoot, 'plugins')}`,
      'plugins=template',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'app.mjs'),
    [
      "import { createServer } from 'node:net';",
      'setInterval(() => {',
      '  const server = createServer();',
      "  server.listen(0, '127.0.0.1', () => server.close());",
      '}, 100);',
      '',
    ].join('\n'),
  );
  return startProcess(process.execPath, ['--import', require.resolve('@vigil/agent/register'), 'app.mjs'], { cwd: dir });
}

describe('plugin commands from the backend', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend();
  });
  afterAll(() => killAll());

  async function command(instanceId: string, plugin: string, action: 'disable' | 'enable'): Promise<PluginCommandState> {
    const response = await fetch(`${backend.url}/api/v1/instances/${instanceId}/plugins/${plugin}/${action}`, { method: 'POST' });
    expect(response.status).toBe(202);
    const { command } = (await response.json()) as { command: PluginCommandState };
    expect(command).toMatchObject({ instanceId, type: `plugin.${action}`, plugin, state: 'queued' });
    return command;
  }

  /** The command's state as `GET /api/v1/plugin-commands` lists it, once it is `state`. */
  async function reaches(instanceId: string, id: string, state: PluginCommandState['state']): Promise<PluginCommandState> {
    return waitFor(`command ${id} to be ${state}`, async () => {
      const response = await fetch(`${backend.url}/api/v1/plugin-commands?instanceId=${instanceId}`);
      const found = ((await response.json()) as { commands: PluginCommandState[] }).commands.find((c) => c.id === id);
      return found?.state === state ? found : undefined;
    });
  }

  async function agentEvents(instanceId: string): Promise<EventList['events']> {
    const response = await fetch(`${backend.url}/api/v1/events?instanceId=${instanceId}&origin=agent&limit=1000`);
    return ((await response.json()) as EventList).events;
  }

  it('switches a plugin off and on again in a running service, which reports each outcome', async () => {
    const app = startListeningLoop(backend.url);
    const pid = app.child.pid ?? -1;
    const greetings = () => app.stdout().split('Good morning!').length - 1;
    const instance = await waitFor(`the instance of pid ${pid} (output: ${app.output()})`, async () => {
      const found = await instanceOfPid(backend, pid);
      return found?.plugins[0]?.extInfo.status === 'started' ? found : undefined;
    });
    const { instanceId } = instance;
    await waitFor('the agent to have sent its start', async () =>
      (await agentEvents(instanceId)).find((event) => event.type === 'agent.started'),
    );
    expect((await agentEvents(instanceId)).find((event) => event.type === 'plugin.loaded')?.attributes).toMatchObject({
      plugin: 'template',
      version: '1.2.0',
    });

    const off = await command(instanceId, 'template', 'disable');
    const disabled = await waitFor('the plugin.disabled event', async () =>
      (await agentEvents(instanceId)).find((event) => event.type === 'plugin.disabled'),
    );
    expect(disabled).toMatchObject({ level: 'important', origin: 'agent', attributes: { commandId: off.id, plugin: 'template' } });
    // The backend followed the command from queued through delivered to the agent's outcome.
    expect(await reaches(instanceId, off.id, 'succeeded')).toMatchObject({ type: 'plugin.disable', plugin: 'template', reason: null });
    const whileOff = greetings();
    // An observation window of five listens (one each 100 ms): none may be greeted.
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The service kept listening, no longer intercepted, and the heartbeat lists the plugin as disabled.
    expect(greetings()).toBe(whileOff);
    await waitFor('the plugin to show as disabled', async () =>
      (await backend.instance(instanceId))?.plugins[0]?.enabled === false ? true : undefined,
    );
    expect((await backend.instance(instanceId))?.status).toBe('healthy');

    const on = await command(instanceId, 'template', 'enable');
    const enabled = await waitFor('the plugin.enabled event', async () =>
      (await agentEvents(instanceId)).find((event) => event.type === 'plugin.enabled'),
    );
    expect(enabled).toMatchObject({ origin: 'agent', attributes: { commandId: on.id, plugin: 'template' } });
    expect(await reaches(instanceId, on.id, 'succeeded')).toMatchObject({ type: 'plugin.enable', service: 'e2e-control' });
    await waitFor('the template plugin to greet again', async () => (greetings() > whileOff ? true : undefined));
    await waitFor('the plugin to show as running', async () => {
      const plugin = (await backend.instance(instanceId))?.plugins[0];
      return plugin?.enabled !== false && plugin?.extInfo.status === 'started' ? true : undefined;
    });
  });
});
