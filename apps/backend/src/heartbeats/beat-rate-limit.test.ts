import { describe, expect, it } from 'vitest';
import { BEAT_BURST, BeatRateLimiter } from './beat-rate-limit.js';

describe('BeatRateLimiter', () => {
  it('lets an instance burst, then holds it to four beats per configured interval, answering a slower interval', () => {
    const limiter = new BeatRateLimiter();
    for (let i = 0; i < BEAT_BURST; i += 1) expect(limiter.take('a', 2000, 0)).toBeNull();
    expect(limiter.take('a', 2000, 0)).toBe(2000);
    // 500 ms (a quarter interval) later one more beat is allowed, and only one.
    expect(limiter.take('a', 2000, 500)).toBeNull();
    expect(limiter.take('a', 2000, 500)).toBe(2000);
  });

  it('never limits an instance beating at its interval, nor others while one floods', () => {
    const limiter = new BeatRateLimiter();
    let allowed = 0;
    for (let t = 0; t < 60_000; t += 1) {
      if (limiter.take('flood', null, t) === null) allowed += 1;
      if (t % 5000 === 0) expect(limiter.take('steady', 5000, t)).toBeNull();
    }
    // A beat a millisecond gets the burst plus one per 100 ms, and is told to beat every 5 s.
    expect(allowed).toBeGreaterThanOrEqual(600);
    expect(allowed).toBeLessThanOrEqual(600 + BEAT_BURST + 1);
    expect(limiter.take('flood', null, 59_999)).toBe(5000);
    expect(limiter.take('other', null, 60_000)).toBeNull();
  });

  it('without a configured interval allows the protocol minimum (100 ms) sustained', () => {
    const limiter = new BeatRateLimiter();
    for (let t = 0; t < 60_000; t += 100) expect(limiter.take('a', null, t)).toBeNull();
  });

  it('never tells an instance to beat so slowly that it would go lost: at most a third of its lost timeout', () => {
    const limiter = new BeatRateLimiter();
    // A stalled backend working through a backlog: the stale beats drain the bucket at one moment.
    for (let i = 0; i < BEAT_BURST; i += 1) limiter.take('a', null, 0, 1500);
    expect(limiter.take('a', null, 0, 1500)).toBe(500);
    for (let i = 0; i < BEAT_BURST; i += 1) limiter.take('b', 5000, 0, 15_000);
    expect(limiter.take('b', 5000, 0, 15_000)).toBe(5000);
    for (let i = 0; i < BEAT_BURST; i += 1) limiter.take('c', 20_000, 0, 15_000);
    expect(limiter.take('c', 20_000, 0, 15_000)).toBe(5000);
  });

  it('forgets instances that stopped beating', () => {
    const limiter = new BeatRateLimiter();
    for (let i = 0; i < 1000; i += 1) limiter.take(`id-${i}`, null, 0);
    expect(limiter.size).toBe(1000);
    limiter.take('late', null, 120_000);
    expect(limiter.size).toBe(1);
  });
});
