/**
 * Dynamic configuration in a real child process: the template plugin and the `tunable` fixture
 * read their settings from their defaults and their settings files (`vigil/plugins/<name>.properties`),
 * the backend stand-in delivers new values in beat replies, and the full beats report what each
 * plugin applied or refused; `bare` declares no settings and is left as it was.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConfigDelivery, FullBeat, PluginInfo } from './protocol';
import { backendLike, backendStandIn } from './test-support/backend-stand-in';
import { agentRoot, attach, fixtures, requireBuilt, runNode } from './test-support/node-process';

const templateDir = path.resolve(agentRoot, '..', '..', 'plugins', 'template');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A service listening anew every 100 ms, so the template plugin says its greeting again and again. */
const app = [
  "import { createServer } from 'node:http';",
  "const server = createServer((req, res) => res.end('ok'));",
  "const cycle = () => server.listen(0, '127.0.0.1', () => server.close(() => setTimeout(cycle, 100)));",
  'cycle();',
].join('\n');

/** An app folder laid out as the docs say: the plugins in vigil/plugins, each one's settings file beside its folder. */
function appDir(backendUrl: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-config-app-'));
  writeFileSync(path.join(dir, 'app.mjs'), app);
  const plugins = path.join(dir, 'vigil', 'plugins');
  mkdirSync(plugins, { recursive: true });
  const properties = {
    'service.name': 'config-app',
    'backend.url': backendUrl,
    'heartbeat.interval': 100,
    'event.send.interval': 100,
    plugins: 'template,tunable,bare',
  };
  writeFileSync(
    path.join(dir, 'vigil', 'config.properties'),
    Object.entries(properties)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  );
  symlinkSync(templateDir, path.join(plugins, 'template'));
  symlinkSync(path.join(fixtures, 'plugins', 'tunable'), path.join(plugins, 'tunable'));
  symlinkSync(path.join(fixtures, 'plugins', 'bare'), path.join(plugins, 'bare'));
  writeFileSync(path.join(plugins, 'template.properties'), 'greeting=Hello from the file\n');
  writeFileSync(path.join(plugins, 'tunable.properties'), 'limit=5\n');
  return dir;
}

describe('plugin settings in a running service', () => {
  beforeAll(() => requireBuilt(path.join(templateDir, 'dist', 'index.js')));

  it('start from defaults and settings files, take the values beat replies deliver, refuse bad ones, and say so in beats and events', async () => {
    let deliveries: ConfigDelivery[] = [];
    const standIn = await backendStandIn((request, index) => {
      const answer = backendLike(request, index);
      if (!request.path.endsWith('/heartbeat') || deliveries.length === 0) return answer;
      const config = deliveries;
      deliveries = [];
      return { ...answer, body: { ...(answer.body as object), config } };
    });
    cleanups.push(standIn.close);
    const service = runNode(appDir(standIn.url), [...attach.esm, 'app.mjs']);
    cleanups.push(() => service.stop());

    const lines = () => service.stdout().trimEnd().split('\n');
    const lastFull = () => standIn.beats().findLast((beat): beat is FullBeat => beat.kind === 'full');
    const entry = (name: string): PluginInfo | undefined => lastFull()?.plugins.find((plugin) => plugin.name === name);
    const eventsOf = (type: string) => standIn.events().filter((event) => event.type === type);

    // At start: the declared defaults, then each settings file.
    await vi.waitFor(() => expect(lines()).toContain('Hello from the file'), { timeout: 10_000 });
    await vi.waitFor(() => expect(entry('template')?.extInfo).toEqual({ status: 'started' }), { timeout: 10_000 });
    expect(entry('template')).toEqual({
      name: 'template',
      version: '1.2.0',
      extInfo: { status: 'started' },
      settings: { greeting: { type: 'string', default: 'Good morning!', description: expect.any(String) } },
      configVersion: 0,
    });
    expect(entry('tunable')).toEqual({
      name: 'tunable',
      version: '2.0.0',
      extInfo: { mode: 'calm', limit: '5', seen: 'nothing yet' },
      settings: { mode: { type: 'string', default: 'calm', description: 'how it behaves' }, limit: { type: 'number', default: 1 } },
      configVersion: 0,
    });
    expect(entry('bare')).toEqual({ name: 'bare', version: 'unknown', extInfo: {} });

    // Delivered: applied, onChange sees it, the greeting changes, and the next full beats carry the versions.
    deliveries = [
      { plugin: 'template', version: 3, values: { greeting: 'Bonjour' } },
      { plugin: 'tunable', version: 7, values: { mode: 'busy', limit: 9 } },
    ];
    await vi.waitFor(
      () => {
        const told = lines().indexOf('template: greeting is now "Bonjour"');
        expect(told).toBeGreaterThanOrEqual(0);
        expect(lines().slice(told)).toContain('Bonjour');
      },
      { timeout: 10_000 },
    );
    await vi.waitFor(
      () => expect(entry('tunable')).toMatchObject({ configVersion: 7, extInfo: { mode: 'busy', limit: '9', seen: 'busy/9' } }),
      {
        timeout: 10_000,
      },
    );
    expect(entry('template')).toMatchObject({ configVersion: 3 });
    await vi.waitFor(() => expect(eventsOf('plugin.config-applied')).toHaveLength(2), { timeout: 10_000 });
    expect(eventsOf('plugin.config-applied').map((event) => event.attributes)).toEqual([
      { plugin: 'template', version: '3' },
      { plugin: 'tunable', version: '7' },
    ]);

    // A value of the wrong type is refused as a whole, before any listener; a change onChange
    // throws on (the template refuses an empty greeting) is rolled back, the listener told again.
    deliveries = [
      { plugin: 'template', version: 4, values: { greeting: '  ' } },
      { plugin: 'tunable', version: 8, values: { mode: 'quiet', limit: 'many' } },
    ];
    await vi.waitFor(() => expect(eventsOf('plugin.config-rejected')).toHaveLength(2), { timeout: 10_000 });
    expect(eventsOf('plugin.config-rejected').map((event) => event.attributes)).toEqual([
      { plugin: 'tunable', version: '8', reason: 'values.limit: expected a number, got "many"', kept: '7' },
      { plugin: 'template', version: '4', reason: 'onChange threw: the greeting cannot be empty', kept: '3' },
    ]);
    await vi.waitFor(() => expect(entry('template')).toMatchObject({ configVersion: 3, configRejected: 4 }), { timeout: 10_000 });
    expect(entry('tunable')).toMatchObject({ configVersion: 7, configRejected: 8, extInfo: { mode: 'busy', limit: '9', seen: 'busy/9' } });
    expect(entry('bare')).toEqual({ name: 'bare', version: 'unknown', extInfo: {} });
    expect(lines().filter((line) => line.startsWith('template: greeting is now'))).toEqual([
      'template: greeting is now "Bonjour"',
      'template: greeting is now "Bonjour"',
    ]);
    await vi.waitFor(() => expect(lines().at(-1)).toBe('Bonjour'), { timeout: 10_000 });
  }, 30_000);
});
