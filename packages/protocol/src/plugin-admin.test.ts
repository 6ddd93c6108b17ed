import { describe, expect, it } from 'vitest';
import {
  BULK_COMMAND_MAX_INSTANCES,
  bulkPluginCommandBodySchema,
  pluginCommandBodySchema,
  pluginCommandQuerySchema,
} from './plugin-admin.js';
import { describeIssues } from './schemas.js';

const issues = (result: { success: boolean; error?: Parameters<typeof describeIssues>[0] }) =>
  result.success ? [] : describeIssues(result.error!);

describe('plugin command REST shapes', () => {
  it('takes an optional version that looks like one, and no other field', () => {
    expect(pluginCommandBodySchema.parse({})).toEqual({});
    expect(pluginCommandBodySchema.parse({ version: '2.0.0-rc.1+build.5' })).toEqual({ version: '2.0.0-rc.1+build.5' });
    expect(issues(pluginCommandBodySchema.safeParse({ version: '../../etc' }))).toEqual([
      'version: must be a version such as 1.2.0 (letters, digits and . + _ -)',
    ]);
    const empty = issues(pluginCommandBodySchema.safeParse({ version: '' }));
    expect(empty.length).toBeGreaterThan(0);
    expect(empty.filter((issue) => !issue.startsWith('version: '))).toEqual([]);
    expect(issues(pluginCommandBodySchema.safeParse({ verison: '2' }))).toEqual([expect.stringContaining('verison')]);
  });

  it('addresses exactly one of a service and a list of distinct ids, at most BULK_COMMAND_MAX_INSTANCES', () => {
    expect(bulkPluginCommandBodySchema.parse({ service: 'orders', version: '2.0.0' })).toEqual({ service: 'orders', version: '2.0.0' });
    expect(bulkPluginCommandBodySchema.parse({ instanceIds: ['a', 'b'] })).toEqual({ instanceIds: ['a', 'b'] });
    const exactlyOne = ['service: give exactly one of service and instanceIds'];
    expect(issues(bulkPluginCommandBodySchema.safeParse({}))).toEqual(exactlyOne);
    expect(issues(bulkPluginCommandBodySchema.safeParse({ service: 'orders', instanceIds: ['a'] }))).toEqual(exactlyOne);
    expect(issues(bulkPluginCommandBodySchema.safeParse({ instanceIds: [] }))).toEqual([expect.stringMatching(/^instanceIds: /)]);
    expect(issues(bulkPluginCommandBodySchema.safeParse({ instanceIds: ['a', 'a'] }))).toEqual([
      'instanceIds: must not name an instance twice',
    ]);
    const many = Array.from({ length: BULK_COMMAND_MAX_INSTANCES + 1 }, (_, i) => `i-${i}`);
    expect(issues(bulkPluginCommandBodySchema.safeParse({ instanceIds: many }))).toEqual([
      `instanceIds: at most ${BULK_COMMAND_MAX_INSTANCES} instances per command`,
    ]);
    expect(issues(bulkPluginCommandBodySchema.safeParse({ instanceIds: [''] }))).toEqual([expect.stringMatching(/^instanceIds\.0: /)]);
  });

  it('filters the list by exact values, with a limit from 1 to 1000', () => {
    expect(pluginCommandQuerySchema.parse({ service: 'orders', limit: '20' })).toEqual({ service: 'orders', limit: 20 });
    expect(issues(pluginCommandQuerySchema.safeParse({ limit: '1001' }))).toEqual(['limit: must be at most 1000']);
    expect(issues(pluginCommandQuerySchema.safeParse({ limit: 'ten' }))).toEqual(['limit: must be a whole number']);
  });
});
