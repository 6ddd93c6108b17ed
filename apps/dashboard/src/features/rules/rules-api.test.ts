import { describe, expect, it } from 'vitest';
import { inputOf, parseRule, parseRuleList } from './rules-api';

const stored = {
  id: 'r1',
  name: 'Loop stuck',
  metric: 'eventLoopDelayP99',
  comparison: '>',
  threshold: 500,
  forBeats: 3,
  forMs: null,
  level: 'important',
  service: null,
  enabled: true,
  createdAt: 1,
  updatedAt: 2,
  firing: 4,
};

describe('alert rule answers', () => {
  it('reads a rule with how many instances it fires for, and sends back only its settings', () => {
    const rule = parseRule(stored);
    expect(rule.firing).toBe(4);
    expect(inputOf({ ...rule, service: 'orders' })).toEqual({
      name: 'Loop stuck',
      metric: 'eventLoopDelayP99',
      comparison: '>',
      threshold: 500,
      forBeats: 3,
      forMs: null,
      level: 'important',
      service: 'orders',
      enabled: true,
    });
  });

  it('names the field that does not match', () => {
    expect(() => parseRuleList({ rules: [{ ...stored, metric: 'temperature' }] })).toThrow(/^rules\.0\.metric: /);
    expect(() => parseRule({ ...stored, firing: -1 })).toThrow(/^firing: /);
  });
});
