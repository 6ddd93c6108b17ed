import { replyProblem } from './webhook-formats.js';
import type { WebhookFormat } from './webhook-schema.js';
import type { SendResult } from './webhook-sender.js';

/** How one attempt went, judged for the webhook's format. */
export interface AttemptOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
  /** Network errors, timeouts, 5xx and 429 may pass later; anything else will not. */
  retryable: boolean;
}

export function judge(format: WebhookFormat, result: SendResult): AttemptOutcome {
  if ('error' in result) return { ok: false, error: result.error, durationMs: result.durationMs, retryable: !result.refused };
  const { status, durationMs } = result;
  if (status >= 300 && status < 400) {
    return { ok: false, status, error: `answered a redirect (${status}): webhooks do not follow redirects`, durationMs, retryable: false };
  }
  if (status < 200 || status >= 300) {
    return { ok: false, status, error: `answered ${status}`, durationMs, retryable: status >= 500 || status === 429 };
  }
  const problem = replyProblem(format, result.body);
  return problem ? { ok: false, status, error: problem, durationMs, retryable: false } : { ok: true, status, durationMs, retryable: false };
}

export interface RetryPolicy {
  /** Tries after the first one. */
  retries: number;
  /** Wait before the first retry; each later wait doubles. */
  firstDelayMs: number;
}

/** The first try, then up to 3 retries after 0.5 s, 1 s and 2 s: at most ~3.5 s of waiting per event. */
export const RETRY_POLICY: RetryPolicy = { retries: 3, firstDelayMs: 500 };

/** Runs `attempt` until it succeeds, fails for good, or the retries are spent. */
export async function withRetries(
  attempt: () => Promise<AttemptOutcome>,
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void>,
): Promise<AttemptOutcome & { attempts: number }> {
  for (let tries = 1; ; tries++) {
    const outcome = await attempt();
    if (outcome.ok || !outcome.retryable || tries > policy.retries) return { ...outcome, attempts: tries };
    await sleep(policy.firstDelayMs * 2 ** (tries - 1));
  }
}
