import { EVENTS_PATH, LIMITS, PROTOCOL_VERSION } from '../protocol';
import type { EventBatch } from '../protocol';
import type { BackendLink, BackendRequest } from '../backend/backend-link';
import { describeError, logger } from '../logger';
import type { EventQueue } from './event-queue';

/** Deadline of one batch. */
const BATCH_TIMEOUT_MS = 10_000;
/** Longest wait between attempts while batches fail. */
const MAX_BACKOFF_MS = 60_000;

/** Events not delivered yet, and how many the queue dropped since the last batch. */
export type OwedEvents = Pick<EventBatch, 'events' | 'dropped'>;

export interface EventSenderOptions {
  link: Pick<BackendLink, 'send' | 'url' | 'urlOf' | 'pending' | 'writeNow'>;
  queue: EventQueue;
  instanceId: string;
  /** Batching window: events go out at most this long after the first of a batch was recorded. */
  intervalMs: number;
  /**
   * Whether the backend knows the instance now: it refuses events from instances it does not
   * know, so batches wait for an acknowledged beat (at start, after an outage, after the backend
   * restarted).
   */
  instanceKnown: () => boolean;
}

/**
 * Sends queued events to `POST /api/v1/events` in batches of at most LIMITS.eventsPerBatch, one
 * batch at a time, only while there is something to send (no idle timer) and the backend knows
 * the instance. A batch that fails (unreachable, 5xx, 408, 429, or a 400 naming the instance id:
 * the backend forgot the instance) goes back to the front of the queue and is retried with
 * backoff; a batch the backend refuses otherwise would be refused again, so it is dropped and
 * counted. Timers are unref'd: events never keep the host alive.
 */
export class EventSender {
  private readonly link: EventSenderOptions['link'];
  private readonly queue: EventQueue;
  private readonly instanceId: string;
  private readonly intervalMs: number;
  private readonly instanceKnown: () => boolean;
  private timer: NodeJS.Timeout | undefined;
  /** The batch being sent, until it is answered. */
  private inFlight: Pick<EventBatch, 'events' | 'dropped'> | undefined;
  private stopped = false;
  private failures = 0;
  private refusedWarned = false;

  constructor(options: EventSenderOptions) {
    this.link = options.link;
    this.queue = options.queue;
    this.instanceId = options.instanceId;
    this.intervalMs = options.intervalMs;
    this.instanceKnown = options.instanceKnown;
  }

  /** Schedules a batch unless one is already scheduled or in flight; called after each recorded event. */
  wake(): void {
    if (this.timer === undefined && this.inFlight === undefined) this.schedule(this.intervalMs);
  }

  /** Sends what is queued now, as the agent stops: one batch, bounded by `timeoutMs`; never rejects. Stops scheduling. */
  async flush(timeoutMs: number): Promise<void> {
    this.stop();
    await this.sendBatch(timeoutMs);
  }

  /**
   * What is not delivered yet, for the goodbye to carry: the queued events (and with
   * `withInFlight`, first the batch in flight, which the process ending now would lose; at worst
   * the backend gets it twice), taken off the queue. Undefined, and nothing taken, when there is
   * nothing, or when they take more than `maxBytes` as JSON (they go as a batch of their own).
   * Stops scheduling.
   */
  takeOwed(maxBytes: number, withInFlight: boolean): OwedEvents | undefined {
    this.stop();
    const sending = (withInFlight && this.inFlight) || { events: [], dropped: 0 };
    const queued = this.queue.take(LIMITS.eventsPerBatch - sending.events.length);
    const owed = { events: [...sending.events, ...queued.events], dropped: sending.dropped + queued.dropped };
    if ((owed.events.length === 0 && owed.dropped === 0) || JSON.stringify(owed).length > maxBytes) {
      this.queue.putBack(queued);
      return undefined;
    }
    if (withInFlight) this.inFlight = undefined;
    return owed;
  }

  /**
   * The queued events for a full beat to carry (see BeatEvents), taken off the queue: none while
   * a batch is in flight (the beat would overtake it), and none when they take more than
   * `maxBytes` as JSON (they go as batches). Scheduling goes on: what is given back is sent as
   * a batch.
   */
  takeForBeat(maxBytes: number): OwedEvents | undefined {
    if (this.stopped || this.inFlight !== undefined || this.queue.size === 0) return undefined;
    const taken = this.queue.take(LIMITS.eventsPerBatch);
    if (JSON.stringify(taken).length > maxBytes) {
      this.queue.putBack(taken);
      return undefined;
    }
    return taken;
  }

  /** Events a beat carried and the backend did not take: back to the front of the queue, to go as a batch. */
  giveBack(events: OwedEvents): void {
    this.queue.putBack(events);
    this.wake();
  }

  /**
   * One batch of what is not delivered yet, sent at once from within 'exit': the batch in flight
   * (the exit may come before its answer; at worst the backend gets it twice) and then what is
   * queued. Written synchronously on the link's idle connection when it has one (`writeNow`);
   * otherwise returned, for a sender that works during 'exit' (sync-send). Stops scheduling.
   */
  batchNow(): BackendRequest | undefined {
    this.stop();
    const sending = this.inFlight ?? { events: [], dropped: 0 };
    const queued = this.queue.take(LIMITS.eventsPerBatch - sending.events.length);
    const events = [...sending.events, ...queued.events];
    if (events.length === 0) return undefined;
    const body = JSON.stringify(this.batchOf({ events, dropped: sending.dropped + queued.dropped }));
    return this.link.writeNow('POST', EVENTS_PATH, body) ? undefined : this.link.pending('POST', EVENTS_PATH, body);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.instanceKnown()) {
        this.schedule(this.intervalMs);
        return;
      }
      void this.sendBatch(BATCH_TIMEOUT_MS).then(() => {
        if (this.queue.size === 0) return;
        // More than one batch was waiting: the next goes at once, unless this one failed.
        this.schedule(this.failures === 0 ? 0 : Math.min(this.intervalMs * 2 ** this.failures, MAX_BACKOFF_MS));
      });
    }, delayMs).unref();
  }

  /** Never rejects. */
  private async sendBatch(timeoutMs: number): Promise<void> {
    if (this.queue.size === 0) return;
    const taken = this.queue.take(LIMITS.eventsPerBatch);
    this.inFlight = taken;
    try {
      const { status, body } = await this.link.send('POST', EVENTS_PATH, this.batchOf(taken), timeoutMs);
      if (status === 408 || status === 429) throw new Error(`backend answered HTTP ${status}`);
      if (status === 400 && namesInstanceId(body)) throw new Error('the backend does not know this instance (yet)');
      this.failures = 0;
      if (status >= 300) this.refused(status, taken.events.length + taken.dropped);
    } catch (error) {
      this.queue.putBack(taken);
      this.failures += 1;
      // Reachability problems are the heartbeat's to warn about; this is detail.
      const message = `events to ${this.link.url} not sent (${describeError(error)}); ${this.queue.size} queued`;
      if (this.failures === 1) logger.info(message);
      else logger.debug(message);
    } finally {
      this.inFlight = undefined;
    }
  }

  private refused(status: number, count: number): void {
    this.queue.addDropped(count);
    const message = `the backend at ${this.link.url} refused a batch of events (HTTP ${status}); they are dropped`;
    if (this.refusedWarned) {
      logger.debug(message);
    } else {
      this.refusedWarned = true;
      logger.warn(message);
    }
  }

  private batchOf({ events, dropped }: Pick<EventBatch, 'events' | 'dropped'>): EventBatch {
    return { v: PROTOCOL_VERSION, instanceId: this.instanceId, events, dropped };
  }
}

/** A 400 naming the instance id: the backend does not know the instance (protocol.md), which the next beat fixes. */
function namesInstanceId(body: unknown): boolean {
  const issues = (body as { issues?: unknown } | undefined)?.issues;
  return Array.isArray(issues) && issues.some((issue) => typeof issue === 'string' && issue.startsWith('instanceId'));
}
