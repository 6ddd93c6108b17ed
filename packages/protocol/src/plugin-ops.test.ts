import { describe, expect, it } from 'vitest';
import { LIMITS } from './constants.js';
import { beatReplySchema, describeIssues, fullBeatSchema, pluginCommandSchema } from './schemas.js';
import { settingValuesSchema } from './plugin-ops.js';

const full = {
  v: 1,
  kind: 'full',
  instanceId: 'i-1',
  heartbeatTime: 1,
  lastHeartbeatTime: null,
  service: 'orders',
  appName: 'shop',
  artifact: 'orders',
  appType: 'default',
  hostName: 'web-1',
  ip: [],
  processId: 42,
  dynamicInstall: false,
  version: '1.0.0',
};

describe('hot plugging and dynamic configuration on the wire', () => {
  it('carries install, uninstall and upgrade commands with a version', () => {
    for (const type of ['plugin.install', 'plugin.uninstall', 'plugin.upgrade']) {
      expect(pluginCommandSchema.parse({ id: 'c1', type, plugin: 'http-timing', version: '2.0.0' })).toMatchObject({
        type,
        version: '2.0.0',
      });
    }
    expect(pluginCommandSchema.safeParse({ id: 'c1', type: 'plugin.reinstall', plugin: 'p' }).success).toBe(false);
  });

  it("carries a plugin's declared settings and applied configuration version in full beats", () => {
    const plugin = {
      name: 'http-timing',
      version: '1.0.0',
      extInfo: {},
      settings: { header: { type: 'string', default: 'x-took', description: 'the response header' }, slowMs: { type: 'number' } },
      configVersion: 3,
      configRejected: 4,
    };
    expect(fullBeatSchema.parse({ ...full, plugins: [plugin] }).plugins[0]).toEqual(plugin);
    const bad = fullBeatSchema.safeParse({ ...full, plugins: [{ ...plugin, settings: { header: { type: 'date' } } }] });
    expect(bad.success || describeIssues(bad.error)[0]).toMatch(/^plugins\.0\.settings\.header\.type: /);
  });

  it('delivers whole sets of values in beat replies, each of a setting type, and refuses others naming them', () => {
    const reply = {
      result: 'renewed',
      serverTime: 1,
      config: [{ plugin: 'p', version: 2, values: { a: 'x', b: 1.5, c: true, d: ['x', 'y'] } }],
    };
    expect(beatReplySchema.parse(reply)).toEqual(reply);
    const bad = settingValuesSchema.safeParse({ a: { nested: 1 } });
    expect(bad.success || describeIssues(bad.error)[0]).toMatch(/^a: /);
    expect(settingValuesSchema.safeParse({ 'not ok': 1 }).success).toBe(false);
    expect(settingValuesSchema.safeParse({ a: 'x'.repeat(LIMITS.settingValueLength + 1) }).success).toBe(false);
    expect(beatReplySchema.safeParse({ ...reply, config: [{ plugin: 'p', version: 0, values: {} }] }).success).toBe(false);
  });
});
