import type { BeatReply, Heartbeat } from '@vigil/protocol/types';
import { describeError, logger } from '../logger';
import { toFullBeat, toLightBeat, type BeatContent } from './message';

/** Longest wait between attempts while the backend is unreachable (unless the interval is longer). */
export const MAX_BACKOFF_MS = 30_000;

/** Spread of every delay, as a fraction of it, so a fleet restarted together does not beat in lockstep. */
const JITTER = 0.1;

/** The transport the sender needs; BeatClient in production. */
export interface BeatTransport {
  send(beat: Heartbeat): Promise<BeatReply>;
  close(): Promise<void>;
}

export interface HeartbeatSenderOptions {
  transport: BeatTransport;
  intervalMs: number;
  /** The current full-beat content; called before every beat. */
  describe: () => BeatContent;
  /** Where beats go, for log lines. */
  backendUrl: string;
}

/**
 * Delay before the next attempt: the interval after a success; after `failures` failures in a
 * row, interval x 2^(failures-1), capped at 30 s (or at the interval if that is longer). Retrying
 * never stops: Sermant agents that gave up after a long outage stayed lost for good (#949).
 */
export function nextDelay(intervalMs: number, failures: number, random: () => number = Math.random): number {
  const base =
    failures === 0 ? intervalMs : Math.min(intervalMs * 2 ** (failures - 1), Math.max(MAX_BACKOFF_MS, intervalMs));
  return Math.round(base * (1 + JITTER * (2 * random() - 1)));
}

/**
 * Beats on a timer, one at a time, and decides full vs light. A light beat is sent while the
 * content (identity, host, plugins, ext-info) equals that of the last full beat the backend
 * acknowledged; a full beat when it changed, after any failure, and right away when the backend
 * answers `unknown` to a light beat (it restarted and forgot us). Nothing is queued while the
 * backend is down: each attempt sends the current state. Timers are unref'd.
 */
export class HeartbeatSender {
  private readonly transport: BeatTransport;
  private readonly intervalMs: number;
  private readonly describe: () => BeatContent;
  private readonly backendUrl: string;
  private cancelNext: (() => void) | undefined;
  private stopped = false;
  private lastHeartbeatTime: number | null = null;
  /** Serialised content of the last full beat the backend acknowledged. */
  private acknowledged: string | undefined;
  private fullBeatDue = true;
  private failures = 0;

  constructor(options: HeartbeatSenderOptions) {
    this.transport = options.transport;
    this.intervalMs = options.intervalMs;
    this.describe = options.describe;
    this.backendUrl = options.backendUrl;
  }

  /** Sends the first beat on the next turn of the event loop, then keeps beating. */
  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelNext?.();
    await this.transport.close();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const run = (): void => {
      void this.beat().then((delay) => this.schedule(delay));
    };
    if (delayMs === 0) {
      const immediate = setImmediate(run).unref();
      this.cancelNext = () => clearImmediate(immediate);
    } else {
      const timeout = setTimeout(run, delayMs).unref();
      this.cancelNext = () => clearTimeout(timeout);
    }
  }

  /** Sends one beat and returns the delay before the next. Never rejects. */
  private async beat(): Promise<number> {
    try {
      const content = this.describe();
      const fingerprint = JSON.stringify(content);
      const full = this.fullBeatDue || fingerprint !== this.acknowledged;
      const times = { heartbeatTime: Date.now(), lastHeartbeatTime: this.lastHeartbeatTime };
      this.lastHeartbeatTime = times.heartbeatTime;
      const reply = await this.transport.send(
        full ? toFullBeat(content, times) : toLightBeat(content.instanceId, times),
      );
      this.recovered();
      if (reply.result === 'unknown') {
        this.fullBeatDue = true;
        // Re-register at once; but a full beat answered `unknown` would loop, so that one waits.
        return full ? nextDelay(this.intervalMs, 0) : 0;
      }
      this.fullBeatDue = false;
      if (full) this.acknowledged = fingerprint;
      return nextDelay(this.intervalMs, 0);
    } catch (error) {
      // stop() destroys the transport under a beat in flight; that failure is not news.
      if (this.stopped) return 0;
      this.failures += 1;
      this.fullBeatDue = true;
      const delay = nextDelay(this.intervalMs, this.failures);
      const message = `heartbeat to ${this.backendUrl} failed (${describeError(error)}); next attempt in ${delay} ms`;
      // Only the first failure after a success is a warning: an outage must not flood the host's logs.
      if (this.failures === 1) logger.warn(message);
      else logger.debug(message);
      return delay;
    }
  }

  private recovered(): void {
    if (this.failures === 0) return;
    logger.info(`heartbeats reach ${this.backendUrl} again after ${this.failures} failed attempts`);
    this.failures = 0;
  }
}
