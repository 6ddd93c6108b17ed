import { describe, expect, it } from 'vitest';
import { RETRY_POLICY, judge, withRetries, type AttemptOutcome } from './delivery-retry.js';

describe('judge', () => {
  const answer = (status: number, body = '') => judge('generic', { status, body, durationMs: 7 });

  it('counts 2xx as delivered', () => {
    expect(answer(200)).toEqual({ ok: true, status: 200, durationMs: 7, retryable: false });
    expect(answer(204).ok).toBe(true);
  });

  it('retries 5xx and 429 only', () => {
    expect(answer(500)).toMatchObject({ ok: false, error: 'answered 500', retryable: true });
    expect(answer(503).retryable).toBe(true);
    expect(answer(429).retryable).toBe(true);
    expect(answer(400).retryable).toBe(false);
    expect(answer(404).retryable).toBe(false);
  });

  it('fails a redirect for good instead of following it', () => {
    expect(answer(302)).toMatchObject({
      ok: false,
      status: 302,
      retryable: false,
      error: expect.stringMatching(/do not follow redirects/),
    });
    expect(answer(307).ok).toBe(false);
  });

  it('retries network errors and timeouts, not a refused private target', () => {
    expect(judge('slack', { error: 'connect ECONNREFUSED', refused: false, durationMs: 1 })).toMatchObject({ ok: false, retryable: true });
    expect(judge('slack', { error: 'refused: 10.0.0.1 is a private address', refused: true, durationMs: 0 }).retryable).toBe(false);
  });

  it('fails a chat service error code sent with 200', () => {
    expect(judge('dingtalk', { status: 200, body: '{"errcode":300001,"errmsg":"token is not exist"}', durationMs: 3 })).toEqual({
      ok: false,
      status: 200,
      error: 'dingtalk answered code 300001: token is not exist',
      durationMs: 3,
      retryable: false,
    });
  });
});

describe('withRetries', () => {
  const failing = (retryable: boolean): AttemptOutcome => ({ ok: false, status: 503, error: 'answered 503', durationMs: 1, retryable });
  const success: AttemptOutcome = { ok: true, status: 200, durationMs: 1, retryable: false };

  function run(outcomes: AttemptOutcome[]) {
    const waits: number[] = [];
    let calls = 0;
    const result = withRetries(
      async () => outcomes[Math.min(calls++, outcomes.length - 1)]!,
      RETRY_POLICY,
      async (ms) => {
        waits.push(ms);
      },
    );
    return { result, waits, calls: () => calls };
  }

  it('retries three times with exponential backoff, then gives up', async () => {
    const { result, waits, calls } = run([failing(true)]);
    expect(await result).toMatchObject({ ok: false, attempts: 4, error: 'answered 503' });
    expect(waits).toEqual([500, 1_000, 2_000]);
    expect(calls()).toBe(4);
  });

  it('stops at the first success', async () => {
    const { result, waits } = run([failing(true), failing(true), success]);
    expect(await result).toMatchObject({ ok: true, attempts: 3 });
    expect(waits).toEqual([500, 1_000]);
  });

  it('does not retry what cannot pass', async () => {
    const { result, waits } = run([failing(false)]);
    expect(await result).toMatchObject({ ok: false, attempts: 1 });
    expect(waits).toEqual([]);
  });

  it('stops when the sleep is aborted (the backend is stopping)', async () => {
    const aborted = withRetries(
      async () => failing(true),
      RETRY_POLICY,
      () => Promise.reject(new Error('aborted')),
    );
    await expect(aborted).rejects.toThrow('aborted');
  });
});
