import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent, ConfigDelivery } from '../protocol';
import { checkSettingDeclarations } from '../config/setting-values';
import { AgentEvents } from '../events/agent-events';
import { EventQueue } from '../events/event-queue';
import { withPluginConfig } from '../heartbeat/message';
import { logger } from '../logger';
import { runInPlugin } from '../plugins/plugin-context';
import { AgentConfigService } from './agent-config-service';
import { ConfigService, type SettingValue } from './config-service';
import { registerService, ServiceManager } from './service-manager';

const tunable = checkSettingDeclarations({
  mode: { type: 'string', default: 'calm', description: 'how it behaves' },
  limit: { type: 'number', default: 1 },
  tags: { type: 'string[]' },
});

type Values = Readonly<Record<string, SettingValue | undefined>>;

function setUp(files: Record<string, string> = {}, listenerTimeoutMs?: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-plugin-settings-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const queue = new EventQueue(100);
  const events = new AgentEvents(queue);
  const recorded: AgentEvent[] = [];
  events.onRecorded = () => recorded.push(...queue.take(100).events);
  const service = new AgentConfigService({ events, settingsDir: dir, ...(listenerTimeoutMs !== undefined && { listenerTimeoutMs }) });
  registerService(ConfigService, service);
  /** Loads a plugin as the loader does; `module` runs as its module would, and gets the view it would fetch. */
  const load = (name: string, declarations: typeof tunable | undefined, module: (config: ConfigService) => void = () => undefined) => {
    const settings = service.startLoad(name);
    const view = runInPlugin(name, () => ServiceManager.getService(ConfigService));
    module(view);
    settings.declare(declarations);
    settings.commit();
    return view;
  };
  const deliver = (plugin: string, version: number, values: ConfigDelivery['values']) => service.deliver([{ plugin, version, values }]);
  const eventsOf = (type: string) => recorded.filter((event) => event.type === type);
  return { service, load, deliver, recorded, eventsOf };
}

/** A listener that records what it is told. */
function recording() {
  const calls: [Values, readonly string[]][] = [];
  return { calls, listener: (values: Values, changed: readonly string[]) => void calls.push([values, changed]) };
}

describe('AgentConfigService', () => {
  beforeEach(() => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("serves a plugin its declared defaults, then its settings file's values, and reports its settings at version 0", () => {
    const { service, load } = setUp({ 'tunable.properties': 'limit=5\n' });
    const config = load('tunable', tunable);
    expect(config.get('mode')).toBe('calm');
    expect(config.get('limit')).toBe(5);
    expect(config.get('tags')).toBeUndefined();
    expect(config.getAll()).toEqual({ mode: 'calm', limit: 5 });
    expect(() => config.get('modes')).toThrow('plugin tunable declares no setting "modes"');
    expect(withPluginConfig([{ name: 'tunable', version: '1.0.0', extInfo: {} }], (name) => service.reportOf(name))).toEqual([
      {
        name: 'tunable',
        version: '1.0.0',
        extInfo: {},
        settings: {
          mode: { type: 'string', default: 'calm', description: 'how it behaves' },
          limit: { type: 'number', default: 1 },
          tags: { type: 'string[]' },
        },
        configVersion: 0,
      },
    ]);
  });

  it('lets a module subscribe while it loads, but read values only once its definition has loaded', () => {
    const { load } = setUp();
    const { calls, listener } = recording();
    let early: unknown;
    const config = load('tunable', tunable, (view) => {
      view.onChange(listener);
      try {
        view.get('mode');
      } catch (error) {
        early = error;
      }
    });
    expect(String(early)).toMatch(
      /the settings of plugin tunable are known once its definition has loaded: read them in its hooks or onChange listeners/,
    );
    expect(config.get('mode')).toBe('calm');
    expect(calls).toEqual([]);
  });

  it('applies a delivery: get and onChange see the new values and which changed, the event and the next full beat its version', async () => {
    const { service, load, deliver, eventsOf } = setUp({ 'tunable.properties': 'limit=5\n' });
    const { calls, listener } = recording();
    let seenByGet: unknown;
    const config = load('tunable', tunable, (view) => {
      view.onChange(listener);
      view.onChange(() => void (seenByGet = view.get('mode')));
    });
    await deliver('tunable', 3, { mode: 'busy', limit: 5, tags: ['a', 'b'] });
    expect(calls).toEqual([[{ mode: 'busy', limit: 5, tags: ['a', 'b'] }, ['mode', 'tags']]]);
    expect(seenByGet).toBe('busy');
    expect(config.getAll()).toEqual({ mode: 'busy', limit: 5, tags: ['a', 'b'] });
    expect(Object.isFrozen(config.get('tags'))).toBe(true);
    expect(eventsOf('plugin.config-applied')).toEqual([
      expect.objectContaining({
        level: 'normal',
        message: 'plugin tunable config version 3 applied (changed: mode, tags)',
        attributes: { plugin: 'tunable', version: '3' },
      }),
    ]);
    expect(service.reportOf('tunable')).toMatchObject({ configVersion: 3 });
    expect(service.reportOf('tunable')).not.toHaveProperty('configRejected');

    // The same version again (the backend resends until a beat reports it): nothing happens.
    await deliver('tunable', 3, { mode: 'busy', limit: 5, tags: ['a', 'b'] });
    expect(calls).toHaveLength(1);
    // A delivery is the whole set: what it leaves out goes back to the file's value or the default.
    await deliver('tunable', 4, { limit: 9, retired: true });
    expect(calls[1]).toEqual([{ mode: 'calm', limit: 9 }, ['mode', 'limit', 'tags']]);
    expect(eventsOf('plugin.config-applied')[1]).toMatchObject({
      message: 'plugin tunable config version 4 applied (changed: mode, limit, tags; not settings of this plugin, ignored: retired)',
      attributes: { plugin: 'tunable', version: '4', ignored: 'retired' },
    });
  });

  it('refuses a delivery with a value of the wrong type as a whole, once, and reports the version refused', async () => {
    const { service, load, deliver, eventsOf } = setUp();
    const { calls, listener } = recording();
    const config = load('tunable', tunable, (view) => view.onChange(listener));
    await deliver('tunable', 4, { mode: 'busy', limit: 'many' });
    await deliver('tunable', 4, { mode: 'busy', limit: 'many' });
    expect(calls).toEqual([]);
    expect(config.getAll()).toEqual({ mode: 'calm', limit: 1 });
    expect(eventsOf('plugin.config-rejected')).toEqual([
      expect.objectContaining({
        level: 'important',
        message: 'plugin tunable config version 4 refused, version 0 kept: values.limit: expected a number, got "many"',
        attributes: { plugin: 'tunable', version: '4', reason: 'values.limit: expected a number, got "many"', kept: '0' },
      }),
    ]);
    expect(service.reportOf('tunable')).toMatchObject({ configVersion: 0, configRejected: 4 });
    // A later good version applies, and nothing is left refused.
    await deliver('tunable', 5, { mode: 'busy' });
    expect(service.reportOf('tunable')).toMatchObject({ configVersion: 5 });
    expect(service.reportOf('tunable')).not.toHaveProperty('configRejected');
  });

  it('rolls back a change an onChange throws on: the previous values restored and told again, and an event', async () => {
    const { service, load, deliver, eventsOf } = setUp();
    const { calls, listener } = recording();
    const config = load('tunable', tunable, (view) => {
      view.onChange(listener);
      view.onChange((values) => {
        if (values.mode === 'explode') throw new Error('no explosions here');
      });
    });
    await deliver('tunable', 1, { mode: 'busy' });
    await deliver('tunable', 2, { mode: 'explode', limit: 3 });
    expect(calls).toEqual([
      [{ mode: 'busy', limit: 1 }, ['mode']],
      [{ mode: 'explode', limit: 3 }, ['mode', 'limit']],
      [{ mode: 'busy', limit: 1 }, ['mode', 'limit']],
    ]);
    expect(config.getAll()).toEqual({ mode: 'busy', limit: 1 });
    expect(eventsOf('plugin.config-rejected')).toEqual([
      expect.objectContaining({
        message: 'plugin tunable config version 2 refused, version 1 kept: onChange threw: no explosions here',
        attributes: { plugin: 'tunable', version: '2', reason: 'onChange threw: no explosions here', kept: '1' },
      }),
    ]);
    expect(service.reportOf('tunable')).toMatchObject({ configVersion: 1, configRejected: 2 });
  });

  it('waits for an async onChange, and rolls back when it rejects or does not settle in time', async () => {
    const { load, deliver, eventsOf } = setUp({}, 50);
    let answer: 'ok' | 'reject' | 'hang' = 'ok';
    const config = load('tunable', tunable, (view) =>
      view.onChange(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (answer === 'reject') throw new Error('cannot reconnect');
        if (answer === 'hang') await new Promise(() => undefined);
      }),
    );
    await deliver('tunable', 1, { limit: 2 });
    expect(eventsOf('plugin.config-applied')).toHaveLength(1);
    answer = 'reject';
    await deliver('tunable', 2, { limit: 3 });
    answer = 'hang';
    await deliver('tunable', 3, { limit: 4 });
    expect(eventsOf('plugin.config-rejected').map((event) => event.attributes?.reason)).toEqual([
      'onChange rejected: cannot reconnect',
      'onChange did not settle within 50 ms',
    ]);
    expect(config.get('limit')).toBe(2);
  });

  it('applies deliveries one at a time: of those that came while a listener was awaited, the latest comes next', async () => {
    const { load, deliver, eventsOf } = setUp();
    const seen: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    load('tunable', tunable, (view) =>
      view.onChange(async (values) => {
        seen.push(values.limit as number);
        if (values.limit === 5) await held;
      }),
    );
    const first = deliver('tunable', 10, { limit: 5 });
    // Listeners are called synchronously; the first is now waiting on `held`.
    expect(seen).toEqual([5]);
    const later = [deliver('tunable', 11, { limit: 6 }), deliver('tunable', 12, { limit: 7 })];
    release();
    await Promise.all([first, ...later]);
    expect(seen).toEqual([5, 7]);
    expect(eventsOf('plugin.config-applied').map((event) => event.attributes?.version)).toEqual(['10', '12']);
  });

  it('leaves a plugin without settings out of it; refuses configuration sent to it, and ignores configuration for no plugin', async () => {
    const { service, load, deliver, recorded } = setUp();
    const config = load('bare', undefined);
    expect(service.reportOf('bare')).toBeUndefined();
    expect(withPluginConfig([{ name: 'bare', version: 'unknown', extInfo: {} }], (name) => service.reportOf(name))).toEqual([
      { name: 'bare', version: 'unknown', extInfo: {} },
    ]);
    expect(config.getAll()).toEqual({});
    await deliver('ghost', 1, { mode: 'busy' });
    expect(recorded).toEqual([]);
    await deliver('bare', 1, { mode: 'busy' });
    expect(recorded).toMatchObject([{ type: 'plugin.config-rejected', attributes: { reason: 'plugin bare declares no settings' } }]);
    expect(service.reportOf('bare')).toEqual({ configRejected: 1 });
  });

  it("keeps, across an upgrade, the version and values the previous load applied; the previous load's listeners are not called again", async () => {
    const { service, load, deliver } = setUp();
    const before = recording();
    load('tunable', tunable, (view) => view.onChange(before.listener));
    await deliver('tunable', 5, { mode: 'busy', limit: 2 });
    const after = recording();
    // Version B declares mode only: the value of limit has nowhere to go.
    const upgraded = load('tunable', checkSettingDeclarations({ mode: { type: 'string', default: 'calm' } }), (view) =>
      view.onChange(after.listener),
    );
    expect(upgraded.getAll()).toEqual({ mode: 'busy' });
    expect(service.reportOf('tunable')).toEqual({ settings: { mode: { type: 'string', default: 'calm' } }, configVersion: 5 });
    await deliver('tunable', 6, { mode: 'quiet' });
    expect(before.calls).toHaveLength(1);
    expect(after.calls).toEqual([[{ mode: 'quiet' }, ['mode']]]);

    service.removePlugin('tunable');
    expect(service.reportOf('tunable')).toBeUndefined();
    await deliver('tunable', 7, { mode: 'loud' });
    expect(after.calls).toHaveLength(1);
  });

  it('forgets a load that failed', async () => {
    const { service, deliver } = setUp();
    const settings = service.startLoad('broken');
    const { calls, listener } = recording();
    runInPlugin('broken', () => ServiceManager.getService(ConfigService)).onChange(listener);
    settings.declare(tunable);
    settings.discard();
    expect(service.reportOf('broken')).toBeUndefined();
    await deliver('broken', 1, { mode: 'busy' });
    expect(calls).toEqual([]);
  });

  it("says that it holds plugins' settings when called outside any plugin", () => {
    const { service } = setUp();
    expect(() => ServiceManager.getService(ConfigService).get('mode')).toThrow(
      /fetch it with ServiceManager\.getService\(ConfigService\) in a plugin's code/,
    );
    expect(ServiceManager.getService(ConfigService)).toBe(service);
  });
});
