import { describe, expect, it } from 'vitest';
import { parseOr400 } from '../common/validation.js';
import { webhookInputSchema } from './webhook-schema.js';

const valid = { name: 'ops', url: 'https://hooks.slack.com/services/T/B/x', format: 'slack', minLevel: 'important', enabled: true };

describe('webhookInputSchema', () => {
  it('accepts a complete webhook, with or without a type filter', () => {
    expect(webhookInputSchema.parse(valid)).toEqual(valid);
    expect(webhookInputSchema.parse({ ...valid, eventTypes: ['instance.', 'log.error'] }).eventTypes).toEqual(['instance.', 'log.error']);
  });

  it('answers 400 naming every bad field', () => {
    const bad = { name: ' ', url: 'ftp://x/y', format: 'teams', minLevel: 'low', enabled: 'yes', eventTypes: ['Instance*'] };
    try {
      parseOr400(webhookInputSchema, bad, 'webhook');
      expect.unreachable();
    } catch (error) {
      const { response } = error as { response: { error: string; issues: string[] } };
      expect(response.error).toBe('invalid webhook');
      expect(response.issues.map((i) => i.split(':')[0])).toEqual(['name', 'url', 'format', 'minLevel', 'enabled', 'eventTypes.0']);
      expect(response.issues[1]).toBe('url: must use http or https, not ftp');
    }
  });

  it('wants the filter left out rather than empty', () => {
    expect(webhookInputSchema.safeParse({ ...valid, eventTypes: [] }).success).toBe(false);
  });
});
