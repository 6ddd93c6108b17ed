import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { AgentHeartbeatService } from '../services/agent-heartbeat-service';
import { HeartbeatService } from '../services/heartbeat-service';
import { registerService } from '../services/service-manager';
import { loadPlugins, type LoadedPlugin } from './plugin-loader';

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures', 'plugins');

class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}
const fakeLib = { Greeter };
const loadModule = (name: string): unknown => (name === 'fake-lib' ? fakeLib : undefined);

describe('loadPlugins', () => {
  const warnings: string[] = [];
  let heartbeat: AgentHeartbeatService;
  let loaded: LoadedPlugin[];

  // Plugin modules stay in the require cache, so the fixtures are loaded once for all cases.
  beforeAll(() => {
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(String(args.at(-1)));
    });
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    heartbeat = new AgentHeartbeatService('0.0.0-test');
    registerService(HeartbeatService, heartbeat);
    loaded = loadPlugins({
      dir: fixtures,
      folders: ['greeter', 'broken', 'absent', 'bare', 'bad-definition', 'duplicate'],
      loadModule,
      heartbeat,
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('loads the good plugins, with name from vigil.name or package name and version or unknown', () => {
    expect(loaded).toEqual([
      { name: 'greeter', version: '2.0.0' },
      { name: 'bare', version: 'unknown' },
    ]);
  });

  it('skips the plugins that cannot load, with a warning naming the plugin and the error', () => {
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/plugin broken .*skipped: broken on purpose/),
        expect.stringMatching(/plugin in .*absent skipped: .*ENOENT/),
        expect.stringMatching(/plugin bad-definition .*skipped: interceptors\[0\]\.method must be a non-empty string/),
        expect.stringMatching(/plugin in .*duplicate skipped: the name greeter is already taken/),
      ]),
    );
  });

  it('installs interceptors whose hooks run as the plugin', () => {
    expect(new Greeter().greet('bob')).toBe('hello bob!');
    expect(heartbeat.collectPlugins()).toEqual([
      // Set from the hook through the view the plugin got at its top level, from another copy of the agent.
      { name: 'greeter', version: '2.0.0', extInfo: { greeted: 'bob' } },
      { name: 'bare', version: 'unknown', extInfo: {} },
    ]);
  });

  it('warns about a target method that does not exist, and keeps the plugin', () => {
    expect(warnings).toContainEqual(expect.stringMatching(/plugin greeter: cannot intercept fake-lib:Greeter\.prototype\.missing/));
  });

  it('does not warn about a target module the application does not have', () => {
    expect(warnings.filter((warning) => warning.includes('not-installed'))).toEqual([]);
  });
});

describe('loadPlugins without a folder list', () => {
  it('loads every folder of the plugins directory, in name order', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-plugins-'));
    for (const name of ['zeta', 'alpha']) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
      writeFileSync(path.join(dir, name, 'index.js'), 'module.exports = {};');
    }
    writeFileSync(path.join(dir, 'README.md'), 'not a plugin');
    const heartbeat = new AgentHeartbeatService('0.0.0-test');
    const loaded = loadPlugins({ dir, folders: undefined, loadModule, heartbeat });
    expect(loaded.map((plugin) => plugin.name)).toEqual(['alpha', 'zeta']);
  });

  it('loads nothing, quietly, when the plugins directory does not exist', () => {
    const warn = vi.spyOn(logger, 'warn');
    const heartbeat = new AgentHeartbeatService('0.0.0-test');
    expect(loadPlugins({ dir: path.join(tmpdir(), 'vigil-no-such-dir'), folders: undefined, loadModule, heartbeat })).toEqual(
      [],
    );
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
