import { CONFIG_HISTORY_LIMIT, type Instance, type PluginInfo } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { ConfigDeliveries, dueFor } from './config-deliveries.js';
import {
  effectiveValues,
  emptyDocument,
  findVersion,
  historyOf,
  latestFor,
  withChange,
  type ChangeInput,
  type ConfigDocument,
} from './config-document.js';
import { declaredSettings, valueIssues } from './config-validation.js';

const change = (values: ChangeInput['values'], instanceId: string | null = null, extra: Partial<ChangeInput> = {}): ChangeInput => ({
  instanceId,
  values,
  updatedBy: 'ops',
  comment: null,
  rollbackOf: null,
  ...extra,
});

const SETTINGS: NonNullable<PluginInfo['settings']> = {
  greeting: { type: 'string', default: 'hello' },
  retries: { type: 'number' },
  verbose: { type: 'boolean' },
  hosts: { type: 'string[]' },
};

function instance(instanceId: string, plugin: Partial<PluginInfo> = {}): Instance {
  return {
    instanceId,
    source: 'agent',
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: 'h',
    ip: [],
    processId: 1,
    dynamicInstall: false,
    version: '1',
    plugins: [{ name: 'greeter', version: '1.0.0', extInfo: {}, settings: SETTINGS, ...plugin }],
    metadata: {},
    ephemeral: true,
    status: 'healthy',
    registeredAt: 0,
    lastHeartbeatTime: 0,
    statusSince: 0,
    metrics: null,
    health: null,
  };
}

describe('a configuration document', () => {
  it('numbers every change with one counter, whichever scope it touches, so each instance has one effective version', () => {
    let doc: ConfigDocument = emptyDocument('orders', 'greeter');
    expect(latestFor(doc, 'a')).toBeNull();
    doc = withChange(doc, change({ greeting: 'hi', retries: 2 }), 1_000);
    doc = withChange(doc, change({ retries: 5 }, 'a'), 2_000);
    expect([doc.version, latestFor(doc, 'a')?.version, latestFor(doc, 'b')?.version]).toEqual([2, 2, 1]);
    expect(effectiveValues(doc, 'a')).toEqual({ greeting: 'hi', retries: 5 });
    expect(effectiveValues(doc, 'b')).toEqual({ greeting: 'hi', retries: 2 });

    // A later service change is newer than the override: both instances move to it, the override still applies on top.
    doc = withChange(doc, change({ greeting: 'hey', retries: 3 }), 3_000);
    expect([latestFor(doc, 'a')?.version, latestFor(doc, 'b')?.version]).toEqual([3, 3]);
    expect(effectiveValues(doc, 'a')).toEqual({ greeting: 'hey', retries: 5 });

    // Clearing the override is a version of its own, for that instance only.
    doc = withChange(doc, change({}, 'a'), 4_000);
    expect([latestFor(doc, 'a')?.version, latestFor(doc, 'b')?.version]).toEqual([4, 3]);
    expect(effectiveValues(doc, 'a')).toEqual({ greeting: 'hey', retries: 3 });
  });

  it('keeps the history of each scope apart, newest first, and finds a version only in its own scope', () => {
    let doc = emptyDocument('orders', 'greeter');
    doc = withChange(doc, change({ greeting: 'one' }, null, { comment: 'first' }), 10);
    doc = withChange(doc, change({ retries: 1 }, 'a'), 20);
    doc = withChange(doc, change({ greeting: 'one' }, null, { updatedBy: 'deploy-bot', rollbackOf: 1 }), 30);
    expect(historyOf(doc, null)).toEqual([
      { version: 3, values: { greeting: 'one' }, updatedAt: 30, updatedBy: 'deploy-bot', comment: null, rollbackOf: 1 },
      { version: 1, values: { greeting: 'one' }, updatedAt: 10, updatedBy: 'ops', comment: 'first', rollbackOf: null },
    ]);
    expect(historyOf(doc, 'a').map((v) => v.version)).toEqual([2]);
    expect(findVersion(doc, null, 2)).toBeUndefined();
    expect(findVersion(doc, 'a', 2)?.values).toEqual({ retries: 1 });
  });

  it('drops the oldest changes past the limit and keeps the values in force', () => {
    let doc = emptyDocument('orders', 'greeter');
    doc = withChange(doc, change({ retries: 7 }, 'a'), 0);
    for (let i = 0; i < CONFIG_HISTORY_LIMIT + 10; i++) doc = withChange(doc, change({ retries: i }), i);
    expect(doc.history).toHaveLength(CONFIG_HISTORY_LIMIT);
    expect(doc.history[0]!.version).toBe(12);
    expect(historyOf(doc, 'a')).toEqual([]);
    expect(effectiveValues(doc, 'a')).toEqual({ retries: 7 });
    expect(latestFor(doc, 'a')?.version).toBe(CONFIG_HISTORY_LIMIT + 11);
  });
});

describe('what an instance is due', () => {
  const doc = withChange(
    withChange(emptyDocument('orders', 'greeter'), change({ greeting: 'hi', extra: 'x' }), 1),
    change({ retries: 4 }, 'a'),
    2,
  );
  const documents = new Map([['greeter', doc]]);

  it('is its effective version and values, limited to the settings it declares, until it reports that version applied or refused', () => {
    expect(dueFor(instance('a'), documents)).toEqual([{ plugin: 'greeter', version: 2, values: { greeting: 'hi', retries: 4 } }]);
    expect(dueFor(instance('b', { configVersion: 0 }), documents)).toEqual([{ plugin: 'greeter', version: 1, values: { greeting: 'hi' } }]);
    expect(dueFor(instance('a', { configVersion: 2 }), documents)).toBeNull();
    expect(dueFor(instance('a', { configVersion: 1, configRejected: 2 }), documents)).toBeNull();
    // A version it applied that is not the one due (the configuration moved on) is no reason to stop.
    expect(dueFor(instance('b', { configVersion: 7 }), documents)?.[0]?.version).toBe(1);
  });

  it('is nothing for a plugin that declares no settings, or has no configuration', () => {
    expect(dueFor(instance('a', { settings: undefined }), documents)).toBeNull();
    expect(dueFor(instance('a', { name: 'other' }), documents)).toBeNull();
  });

  it('is read on the beat path as one lookup, undefined when nothing is due', () => {
    const deliveries = new ConfigDeliveries();
    expect(deliveries.for('a')).toBeUndefined();
    const due = dueFor(instance('a'), documents);
    deliveries.set('a', due);
    expect(deliveries.for('a')).toBe(due);
    expect(deliveries.for('b')).toBeUndefined();
    deliveries.set('a', null);
    expect([deliveries.size, deliveries.for('a')]).toEqual([0, undefined]);
  });
});

describe('values checked against declared settings', () => {
  it('accepts values of the declared types and names each unknown setting or wrong type', () => {
    const declared = declaredSettings([instance('a')], 'greeter');
    expect(valueIssues({ greeting: 'x', retries: 3, verbose: false, hosts: ['a', 'b'] }, declared)).toEqual([]);
    expect(valueIssues({ retries: '3', verbose: 'yes', hosts: 'a', colour: 'red' }, declared)).toEqual([
      'values.retries: must be a number, not a string',
      'values.verbose: must be true or false, not a string',
      'values.hosts: must be a list of strings, not a string',
      'values.colour: not a setting of the plugin (its settings: greeting, hosts, retries, verbose)',
    ]);
  });

  it('holds a value to every type instances running different versions declare', () => {
    const newer = instance('b', { version: '2.0.0', settings: { ...SETTINGS, retries: { type: 'string' } } });
    const declared = declaredSettings([instance('a'), newer, instance('c', { settings: undefined })], 'greeter');
    expect(declared.declaring).toBe(2);
    expect(valueIssues({ retries: 3 }, declared)).toEqual([
      'values.retries: must be a string, not 3 (instances declare it as number and string)',
    ]);
  });
});
