import { beforeEach, describe, expect, it } from 'vitest';
import { ExtInfoChangeRate } from './ext-info-change-rate.js';
import { agentInstanceOf, instanceOf } from './instance-record.js';
import type { InstanceRegistry, RegistryEvent } from './instance-registry.js';
import { diffPlugins, pluginEvents } from './plugin-diff.js';
import { fullBeat, RegistryDriver } from './registry-fixtures.js';

describe('plugin events of changed full beats', () => {
  let d: RegistryDriver;
  let registry: InstanceRegistry;
  let events: RegistryEvent[];
  const advanceTo = (t: number) => d.advanceTo(t);

  beforeEach(() => {
    d = new RegistryDriver();
    ({ registry, events } = d);
  });

  it('reports plugin installs, upgrades, removals and ext-info changes by diffing full beats', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    registry.applyBeat(
      fullBeat({
        instanceId: 'a',
        plugins: [
          { name: 'template', version: '1.3.0', extInfo: { status: 'started' } },
          { name: 'http', version: '0.1.0', extInfo: {} },
        ],
      }),
      1_000,
    );
    registry.applyBeat(
      fullBeat({ instanceId: 'a', plugins: [{ name: 'template', version: '1.3.0', extInfo: { status: 'busy' } }] }),
      2_000,
    );
    expect(events.slice(1).map((e) => `${e.type} ${e.attributes?.plugin}`)).toEqual([
      'plugin.upgraded template',
      'plugin.installed http',
      'plugin.ext-info-changed template',
      'plugin.removed http',
    ]);
  });

  it('records a plugin whose ext-info is a counter (a change every beat) at a bounded rate, not once per beat', () => {
    for (let t = 0, count = 0; t < 5 * 60_000; t += 5_000, count++) {
      advanceTo(t);
      registry.applyBeat(
        fullBeat({ instanceId: 'a', plugins: [{ name: 'counter', version: '1.0.0', extInfo: { requests: String(count) } }] }),
        t,
      );
    }
    const changed = events.filter((e) => e.type === 'plugin.ext-info-changed');
    // 59 changes: three as they came, then one a minute, each saying how many changes it stands for.
    expect(changed.length).toBeLessThanOrEqual(8);
    expect(changed.at(-1)).toMatchObject({
      message: 'counter: requests=49 (12 changes)',
      attributes: { plugin: 'counter', changes: '12' },
    });
    expect(registry.get('a')?.plugins[0]?.extInfo).toEqual({ requests: '59' });
  });
});

describe('diffPlugins', () => {
  const template = { name: 'template', version: '1.2.0', extInfo: { status: 'started' } };

  it('matches plugins by name: installs and upgrades in the new order, then removals; an equal list is no difference', () => {
    const http = { name: 'http', version: '0.1.0', extInfo: {} };
    const upgraded = { ...template, version: '1.3.0' };
    expect(diffPlugins([template, http], [template, http])).toEqual([]);
    expect(diffPlugins([template, http], [{ ...http, extInfo: { port: '80' } }, upgraded])).toEqual([
      { kind: 'ext-info-changed', plugin: { ...http, extInfo: { port: '80' } } },
      { kind: 'upgraded', plugin: upgraded, from: '1.2.0' },
    ]);
    expect(diffPlugins([template], [http])).toEqual([
      { kind: 'installed', plugin: http },
      { kind: 'removed', plugin: template },
    ]);
  });

  it('words each difference as an event of the instance as it was', () => {
    const previous = instanceOf(agentInstanceOf(fullBeat({ plugins: [template] })), 'healthy', 0, 0, 0, null, null);
    const events = pluginEvents(previous, [{ ...template, version: '2.0.0' }], 5, new ExtInfoChangeRate());
    expect(events).toEqual([
      {
        time: 5,
        level: 'normal',
        type: 'plugin.upgraded',
        message: 'template 1.2.0 -> 2.0.0',
        instance: previous,
        attributes: { plugin: 'template', version: '2.0.0', from: '1.2.0' },
      },
    ]);
  });
});
