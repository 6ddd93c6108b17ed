import type { DeliveryStats, EventRecord, LastDelivery } from '@vigil/protocol';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { DeliveryQueue } from './delivery-queue.js';
import { RETRY_POLICY, judge, withRetries, type AttemptOutcome } from './delivery-retry.js';
import { firesFor } from './event-filter.js';
import { messageBody } from './webhook-formats.js';
import type { StoredWebhook } from './webhook-schema.js';
import type { WebhookSender } from './webhook-sender.js';

/** Events waiting per webhook; beyond this the oldest is dropped and counted. */
export const QUEUE_CAPACITY = 1000;

/** One at a time: events reach the target in order, over at most one connection. */
const CONCURRENCY = 1;

export type { DeliveryStats, LastDelivery } from '@vigil/protocol';

export interface ChannelDeps {
  sender: Pick<WebhookSender, 'post'>;
  clock: Clock;
  log: Logger;
  /** Waits between retries; aborted with `stopping`. */
  sleep: (ms: number) => Promise<void>;
  /** Aborted when the backend stops: cancels requests in flight. */
  stopping: AbortSignal;
}

/** One webhook's settings, queue and delivery counts (kept in memory only: they restart at zero). */
export class WebhookChannel {
  private readonly queue: DeliveryQueue<EventRecord>;
  private counts = { delivered: 0, failed: 0, dropped: 0 };
  private last: LastDelivery | null = null;

  constructor(
    private current: StoredWebhook,
    private readonly deps: ChannelDeps,
  ) {
    this.queue = new DeliveryQueue({
      capacity: QUEUE_CAPACITY,
      concurrency: CONCURRENCY,
      work: (event) => this.deliver(event),
      onOverflow: (dropped) => this.overflowed(dropped),
      onError: (error) => {
        if (!deps.stopping.aborted) deps.log.error({ err: error, webhook: this.current.id }, 'webhook delivery crashed');
      },
    });
  }

  get settings(): StoredWebhook {
    return this.current;
  }

  /** Queues the event when this webhook fires for it. */
  offer(event: EventRecord): void {
    if (firesFor(this.current, event)) this.queue.push(event);
  }

  /** New settings apply to queued events too; disabling forgets what was waiting. */
  update(settings: StoredWebhook): void {
    this.current = settings;
    if (!settings.enabled) this.counts.dropped += this.queue.clear();
  }

  close(): void {
    this.queue.clear();
  }

  stats(): DeliveryStats {
    return { queued: this.queue.size, ...this.counts, last: this.last };
  }

  /** One POST of the event in this webhook's format, judged; no retry. */
  async attempt(event: EventRecord): Promise<AttemptOutcome> {
    const { url, format } = this.current;
    const result = await this.deps.sender.post(url, JSON.stringify(messageBody(format, event)), this.deps.stopping);
    return judge(format, result);
  }

  private async deliver(event: EventRecord): Promise<void> {
    const outcome = await withRetries(() => this.attempt(event), RETRY_POLICY, this.deps.sleep);
    if (this.deps.stopping.aborted) return;
    const { ok, status, error, attempts, durationMs } = outcome;
    this.last = {
      time: this.deps.clock.now(),
      eventId: event.id,
      ok,
      attempts,
      durationMs,
      ...(status !== undefined && { status }),
      ...(error && { error }),
    };
    if (ok) {
      this.counts.delivered++;
      return;
    }
    this.counts.failed++;
    // Logged, never recorded as an event: an event about a failing webhook would fire it again.
    this.deps.log.warn({ ...this.identity(), event: event.id, type: event.type, status, error, attempts }, 'webhook delivery failed');
  }

  private overflowed(dropped: number): void {
    const before = this.counts.dropped;
    this.counts.dropped += dropped;
    // The first drop, then one line per hundred: a dead target must not flood the log.
    if (before === 0 || Math.floor(before / 100) !== Math.floor(this.counts.dropped / 100)) {
      this.deps.log.warn(
        { ...this.identity(), dropped: this.counts.dropped },
        `webhook queue full (${QUEUE_CAPACITY}): dropped the oldest events`,
      );
    }
  }

  /**
   * The URL itself stays out of logs: Slack, Feishu and DingTalk put their secret token in it.
   * `webhookName`, because pino's own `name` field is the logger's.
   */
  private identity(): { webhook: string; webhookName: string; host: string } {
    return { webhook: this.current.id, webhookName: this.current.name, host: new URL(this.current.url).host };
  }
}
