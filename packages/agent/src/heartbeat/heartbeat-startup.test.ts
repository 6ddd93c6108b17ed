/** The heartbeat sender before its backend is up: what it says, and when (a fake clock), and which failures may be a backend still starting. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { backendLike } from '../test-support/backend-stand-in';
import { content } from '../test-support/beat-content';
import { HeartbeatSender, mayBeStarting } from './heartbeat-sender';

describe('HeartbeatSender while the backend is not up yet (a fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** A link to a backend that refuses connections until `up` is set, and answers like a backend after. */
  function fakeLink() {
    const state = { up: false, refuse: false, attempts: 0 };
    const link = {
      url: 'http://127.0.0.1:8900',
      urlOf: (path: string) => `http://127.0.0.1:8900${path}`,
      pending: () => {
        throw new Error('not used');
      },
      writeNow: () => false,
      send: async (method: string, path: string, body: unknown) => {
        state.attempts += 1;
        if (state.refuse) return { status: 401, body: { error: 'unauthorized' } };
        // As node:net reports it: the code is what tells a backend not up yet from a setting to fix.
        if (!state.up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8900'), { code: 'ECONNREFUSED' });
        const answer = await backendLike({ method, path, body } as Parameters<typeof backendLike>[0], state.attempts);
        return { status: answer.status, body: answer.body };
      },
    };
    return { link, state };
  }

  function start(link: ReturnType<typeof fakeLink>['link'], intervalMs: number): HeartbeatSender {
    const sender = new HeartbeatSender({
      link,
      instanceId: 'instance-1',
      intervalMs,
      describe: () => content(),
      onCommands: () => undefined,
    });
    sender.start();
    return sender;
  }

  function spyOnLog() {
    return {
      warn: vi.spyOn(logger, 'warn').mockImplementation(() => undefined),
      info: vi.spyOn(logger, 'info').mockImplementation(() => undefined),
    };
  }

  it('does not warn about a backend that comes up a few seconds after the agent', async () => {
    vi.useFakeTimers();
    const log = spyOnLog();
    const { link, state } = fakeLink();
    const sender = start(link, 5000);
    await vi.advanceTimersByTimeAsync(3000);
    expect(state.attempts).toBeGreaterThanOrEqual(2);
    state.up = true;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sender.knownToBackend).toBe(true);
    expect(log.warn).not.toHaveBeenCalled();
    // Still said, below the default log level: the first failure, and the recovery.
    expect(log.info.mock.calls.map(([message]) => String(message))).toEqual([
      expect.stringMatching(/heartbeat to http:\/\/127\.0\.0\.1:8900 failed \(connect ECONNREFUSED.*\); the backend may still be starting/),
      expect.stringMatching(/heartbeats reach http:\/\/127\.0\.0\.1:8900 after \d+ failed attempts/),
    ]);
    sender.stop();
  });

  it('warns once about a backend still unreachable 30 s after the agent started, and not before', async () => {
    vi.useFakeTimers();
    const log = spyOnLog();
    const { link } = fakeLink();
    const sender = start(link, 5000);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(log.warn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(6_000);
    expect(log.warn).toHaveBeenCalledOnce();
    expect(String(log.warn.mock.calls[0]?.[0])).toMatch(
      /heartbeat to http:\/\/127\.0\.0\.1:8900 has failed since the agent started, \d+ attempts in \d+ s \(connect ECONNREFUSED.*\); next attempt in \d+ ms/,
    );
    await vi.advanceTimersByTimeAsync(120_000);
    expect(log.warn).toHaveBeenCalledOnce();
    sender.stop();
  });

  it('warns at once about a backend that refuses the first beat (4xx): it is up, and something is wrong', async () => {
    vi.useFakeTimers();
    const log = spyOnLog();
    const { link, state } = fakeLink();
    state.refuse = true;
    const sender = start(link, 5000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(log.warn).toHaveBeenCalledOnce();
    expect(String(log.warn.mock.calls[0]?.[0])).toMatch(/heartbeat to http:\/\/127\.0\.0\.1:8900 failed \(backend answered HTTP 401\)/);
    sender.stop();
  });

  it('warns at the first failure once the backend has answered: a backend that goes away is news at once', async () => {
    vi.useFakeTimers();
    const log = spyOnLog();
    const { link, state } = fakeLink();
    state.up = true;
    const sender = start(link, 5000);
    await vi.advanceTimersByTimeAsync(6000);
    state.up = false;
    await vi.advanceTimersByTimeAsync(6000);
    expect(log.warn).toHaveBeenCalledOnce();
    expect(String(log.warn.mock.calls[0]?.[0])).toMatch(
      /heartbeat to http:\/\/127\.0\.0\.1:8900 failed \(connect ECONNREFUSED.*\); next attempt in \d+ ms/,
    );
    sender.stop();
  });
});

describe('mayBeStarting', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  it('takes a backend that cannot be reached yet for one still starting', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'])
      expect(mayBeStarting(withCode(code)), code).toBe(true);
    expect(mayBeStarting(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''))).toBe(true);
    expect(mayBeStarting(new DOMException('deadline', 'TimeoutError'))).toBe(true);
  });

  it('takes a certificate that does not verify, or anything unknown, for a setting to fix (warned at once)', () => {
    // Found by the TLS end-to-end test: the certificate error was held back as "may still be starting".
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
    ]) {
      expect(mayBeStarting(withCode(code)), code).toBe(false);
    }
    expect(mayBeStarting(new Error('something else'))).toBe(false);
    expect(mayBeStarting(undefined)).toBe(false);
  });
});
