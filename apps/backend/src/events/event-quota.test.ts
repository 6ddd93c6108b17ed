import { describe, expect, it } from 'vitest';
import { EventQuota, MIN_EVENT_BURST_BYTES } from './event-quota.js';

describe('EventQuota', () => {
  it('lets a client send its burst, then its rate; other clients keep their own buckets', () => {
    const quota = new EventQuota(1024 * 1024);
    const burst = 10 * 1024 * 1024;
    expect(quota.take('10.0.0.1', burst, 0)).toBe(true);
    expect(quota.take('10.0.0.1', 1, 0)).toBe(false);
    expect(quota.take('10.0.0.2', burst, 0)).toBe(true);
    // One second refills one second of the rate.
    expect(quota.take('10.0.0.1', 1024 * 1024, 1_000)).toBe(true);
    expect(quota.take('10.0.0.1', 1024, 1_000)).toBe(false);
  });

  it('keys tokens by identity and always fits the widest batch in a burst, however small the rate', () => {
    const quota = new EventQuota(1024);
    const token = { servicePrefix: '' };
    expect(quota.take(token, MIN_EVENT_BURST_BYTES, 0)).toBe(true);
    expect(quota.take(token, 2048, 1_000)).toBe(false);
    expect(quota.take({ servicePrefix: '' }, 2048, 1_000)).toBe(true);
  });
});
