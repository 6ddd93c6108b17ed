import { describe, expect, it } from 'vitest';
import { describeCondition, thresholdForField, thresholdFromField } from './rule-metrics';

describe('alert rule wording', () => {
  it('says a rule’s condition in words with its unit and duration', () => {
    expect(describeCondition({ metric: 'eventLoopDelayP99', comparison: '>', threshold: 500, forBeats: 3, forMs: null })).toBe(
      'event-loop delay p99 > 500 ms for 3 beats',
    );
    expect(describeCondition({ metric: 'cpu', comparison: '>=', threshold: 90, forBeats: null, forMs: 60_000 })).toBe(
      'CPU >= 90 % for 1 min',
    );
    expect(describeCondition({ metric: 'heapUsedPercent', comparison: '>', threshold: 90, forBeats: 1, forMs: null })).toBe(
      'heap used of its limit > 90 % for 1 beat',
    );
    expect(describeCondition({ metric: 'rss', comparison: '<', threshold: 512 * 1024 * 1024, forBeats: null, forMs: 5_000 })).toBe(
      'RSS < 512 MiB for 5.0 s',
    );
  });

  it('shows bytes as MiB in the form and sends them back as bytes', () => {
    expect(thresholdForField('rss', 1.5 * 1024 * 1024)).toBe('1.5');
    expect(thresholdFromField('rss', '1.5')).toBe(1.5 * 1024 * 1024);
    expect(thresholdFromField('cpu', ' 90 ')).toBe(90);
    expect(thresholdFromField('cpu', '')).toBeNull();
    expect(thresholdFromField('cpu', 'lots')).toBeNull();
    expect(thresholdForField('eventLoopUtilization', 0.1 + 0.2)).toBe('0.3');
  });
});
