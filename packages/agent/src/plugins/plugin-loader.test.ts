import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentEvent } from '../protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentEvents } from '../events/agent-events';
import { EventQueue } from '../events/event-queue';
import { logger } from '../logger';
import { AgentHealthService } from '../services/agent-health-service';
import { AgentHeartbeatService } from '../services/agent-heartbeat-service';
import { HeartbeatService } from '../services/heartbeat-service';
import { registerService, ServiceManager } from '../services/service-manager';
import { Instrumentation } from './instrumentation';
import { loadPlugins, type LoadedPlugin } from './plugin-loader';

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures');
const fakeLibDir = path.join(fixtures, 'fake-lib');

function setUp(): {
  heartbeat: AgentHeartbeatService;
  health: AgentHealthService;
  instrumentation: Instrumentation;
  queue: EventQueue;
  events: AgentEvents;
} {
  const heartbeat = new AgentHeartbeatService('0.0.0-test');
  registerService(HeartbeatService, heartbeat);
  const instrumentation = new Instrumentation({ appRoot: fixtures, syncBuiltinExports: () => undefined });
  const queue = new EventQueue(100);
  return { heartbeat, health: new AgentHealthService(), instrumentation, queue, events: new AgentEvents(queue) };
}

const eventsIn = (queue: EventQueue): AgentEvent[] => queue.take(100).events;

describe('loadPlugins', () => {
  const warnings: string[] = [];
  let parts: ReturnType<typeof setUp>;
  let loaded: LoadedPlugin[];
  let events: AgentEvent[];
  // A fresh copy of the fake package, so that the interceptors installed here stay in this file.
  const fakeLib = require(fakeLibDir) as { Greeter: new () => { greet(name: string): string } };

  // Plugin modules stay in the require cache, so the fixtures are loaded once for all cases.
  beforeAll(() => {
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(String(args.at(-1)));
    });
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    parts = setUp();
    loaded = loadPlugins({
      dir: path.join(fixtures, 'plugins'),
      names: [
        'greeter',
        'broken',
        'absent',
        'bare',
        'bad-definition',
        'duplicate',
        'unbounded',
        'counter',
        'counter-clash',
        'counter-again',
      ],
      appRoot: fixtures,
      agentVersion: '1.2.0',
      ...parts,
    });
    parts.instrumentation.onModuleLoaded({ module: 'fake-lib', exports: fakeLib, packageDir: fakeLibDir });
    events = eventsIn(parts.queue);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('loads the good plugins, with name from vigil.name or package name and version or unknown', () => {
    expect(loaded).toEqual([
      { name: 'greeter', version: '2.0.0' },
      { name: 'bare', version: 'unknown' },
      { name: 'counter', version: '1.0.0' },
    ]);
    expect(events.filter((event) => event.type === 'plugin.loaded').map((event) => event.attributes)).toEqual([
      { plugin: 'greeter', version: '2.0.0' },
      { plugin: 'bare', version: 'unknown' },
      { plugin: 'counter', version: '1.0.0' },
    ]);
  });

  it('skips the plugins that cannot load, reporting each once: a warning and a plugin.failed event naming the error', () => {
    const failures = [
      /plugin broken .*skipped: broken on purpose/,
      /plugin absent skipped: there is no folder .*absent and no package absent installed in .*fixtures's node_modules/,
      /plugin bad-definition .*skipped: interceptors\[0\]\.method must be a non-empty string/,
      /plugin greeter .*duplicate.* skipped: the name greeter is already taken/,
      /plugin unbounded .*skipped: interceptors\[0\]\.versions ">=1" has no upper bound/,
      /plugin counter-clash .*skipped: a service named fixture\.counter is already offered/,
      /plugin counter .*counter-again.* skipped: the name counter is already taken/,
    ];
    const failed = events.filter((event) => event.type === 'plugin.failed');
    expect(failed).toHaveLength(failures.length);
    for (const [index, pattern] of failures.entries()) {
      expect(failed[index]).toMatchObject({ level: 'important', message: expect.stringMatching(pattern) });
      expect(warnings).toContainEqual(expect.stringMatching(pattern));
    }
    expect(failed[0]?.attributes).toEqual({ plugin: 'broken', error: 'broken on purpose' });
    // A failed plugin leaves no ext-info behind, and is not in the heartbeat.
    expect(parts.heartbeat.collectPlugins().map((plugin) => plugin.name)).toEqual(['greeter', 'bare', 'counter']);
  });

  it('keeps the ext-info of a plugin whose name a later one tried to take', () => {
    expect(parts.heartbeat.collectPlugins().find((plugin) => plugin.name === 'counter')?.extInfo).toEqual({
      offered: 'yes',
    });
  });

  it('binds interceptors when their module loads; hooks run as the plugin', () => {
    expect(new fakeLib.Greeter().greet('bob')).toBe('hello bob!');
    expect(parts.heartbeat.collectPlugins()[0]).toEqual(
      // Set from the hook through the view the plugin got at its top level, from another copy of the agent.
      { name: 'greeter', version: '2.0.0', extInfo: { greeted: 'bob' } },
    );
  });

  it('warns about a target method that does not exist, and keeps the plugin', () => {
    expect(warnings).toContainEqual(expect.stringMatching(/plugin greeter: cannot intercept fake-lib:Greeter\.prototype\.missing/));
  });

  it('skips a package version outside the declared range with one line', () => {
    expect(warnings.filter((warning) => warning.includes('plugin bare:'))).toEqual([
      'plugin bare: fake-lib 1.4.0 is outside its supported range >=2 <3; not intercepted',
    ]);
  });

  it('watches each target module once, by kind', () => {
    expect(parts.instrumentation.watched()).toEqual({
      builtins: [],
      packages: ['fake-lib', 'not-installed'],
      files: [],
    });
  });

  it('offers plugin services to the others', () => {
    const counter = ServiceManager.getService({ serviceName: 'fixture.counter', prototype: {} as { next(): number } });
    expect(counter.next()).toBe(1);
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
    const loaded = loadPlugins({ dir, names: undefined, appRoot: dir, agentVersion: '1.2.0', ...setUp() });
    expect(loaded.map((plugin) => plugin.name)).toEqual(['alpha', 'zeta']);
  });

  it('loads nothing, quietly, when the plugins directory does not exist', () => {
    const warn = vi.spyOn(logger, 'warn');
    const parts = setUp();
    expect(
      loadPlugins({
        dir: path.join(tmpdir(), 'vigil-no-such-dir'),
        names: undefined,
        appRoot: tmpdir(),
        agentVersion: '1.2.0',
        ...parts,
      }),
    ).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    expect(parts.queue.size).toBe(0);
    warn.mockRestore();
  });
});

describe('loadPlugins by package name', () => {
  /** Writes a package into `<root>/node_modules/<name>`: its package.json fields and files. */
  function writePackage(root: string, name: string, manifest: object, files: Record<string, string>): void {
    const dir = path.join(root, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...manifest }));
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  }

  const appRoot = mkdtempSync(path.join(tmpdir(), 'vigil-app-'));
  const warnings: string[] = [];
  let parts: ReturnType<typeof setUp>;
  let loaded: LoadedPlugin[];

  beforeAll(() => {
    writePackage(
      appRoot,
      '@acme/vigil-plugin-db',
      { main: 'lib.js', peerDependencies: { '@vigil/agent': '^1.0.0' } },
      {
        'lib.js': 'module.exports = { interceptors: [] };',
      },
    );
    writePackage(
      appRoot,
      'vigil-plugin-esm',
      { type: 'module', exports: { '.': './index.js' } },
      {
        'index.js': "export default { services: [{ type: { serviceName: 'fixture.esm' }, service: { hello: () => 'esm' } }] };",
      },
    );
    writePackage(
      appRoot,
      'vigil-plugin-future',
      { peerDependencies: { '@vigil/agent': '^2.0.0' } },
      {
        'index.js': "throw new Error('code of a plugin built for another agent ran');",
      },
    );
    writePackage(
      appRoot,
      'vigil-plugin-awaits',
      { type: 'module' },
      {
        'index.js': 'await Promise.resolve(); export default {};',
      },
    );
    writePackage(
      appRoot,
      'vigil-plugin-lost',
      { type: 'module' },
      {
        'index.js': "import { definePlugin } from '@vigil/agent'; export default definePlugin({});",
      },
    );
    writePackage(appRoot, 'vigil-plugin-typo', {}, { 'index.js': 'module.exports = {\n  interceptors: [,,\n' });
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(String(args.at(-1)));
    });
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    parts = setUp();
    loaded = loadPlugins({
      dir: path.join(appRoot, 'vigil', 'plugins'),
      names: [
        '@acme/vigil-plugin-db',
        'vigil-plugin-esm',
        'vigil-plugin-future',
        'vigil-plugin-awaits',
        'vigil-plugin-lost',
        'vigil-plugin-typo',
        'vigil-plugin-missing',
      ],
      appRoot: path.join(appRoot, 'src'),
      agentVersion: '1.2.0',
      ...parts,
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it("loads plugins installed in the service's node_modules, CommonJS or ES module, found from a folder below", () => {
    expect(loaded).toEqual([
      { name: '@acme/vigil-plugin-db', version: '1.0.0' },
      { name: 'vigil-plugin-esm', version: '1.0.0' },
    ]);
    expect(ServiceManager.getService({ serviceName: 'fixture.esm', prototype: {} as { hello(): string } }).hello()).toBe('esm');
  });

  it('skips a plugin built for an incompatible agent with one line naming both versions, without running it', () => {
    expect(warnings.filter((warning) => warning.includes('vigil-plugin-future'))).toEqual([
      expect.stringMatching(
        /^plugin vigil-plugin-future \(.*node_modules\/vigil-plugin-future\) skipped: vigil-plugin-future 1\.0\.0 is built for @vigil\/agent \^2\.0\.0 \(its peerDependencies\), and this agent is 1\.2\.0$/,
      ),
    ]);
  });

  it('names the cause of each failure: top-level await, an unresolvable @vigil/agent, a syntax error, a missing package', () => {
    const reasons = (name: string) => warnings.filter((warning) => warning.startsWith(`plugin ${name} `));
    expect(reasons('vigil-plugin-awaits')).toEqual([expect.stringMatching(/skipped: its entry is an ES module with top-level await/)]);
    expect(reasons('vigil-plugin-lost')).toEqual([
      expect.stringMatching(/skipped: its ES module imports @vigil\/agent, which Node v\S+ resolves only from the plugin's own folder/),
    ]);
    expect(reasons('vigil-plugin-typo')).toEqual([
      expect.stringMatching(/skipped: its code does not parse: .*vigil-plugin-typo\/index\.js:\d+: /),
    ]);
    expect(reasons('vigil-plugin-missing')).toEqual([
      expect.stringMatching(
        /skipped: there is no folder .*vigil-plugin-missing and no package vigil-plugin-missing installed in .*'s node_modules$/,
      ),
    ]);
  });
});
