import { HEARTBEAT_PATH, MAX_HEARTBEAT_INTERVAL_MS } from '../protocol';
import type { BeatMetrics, ConfigDelivery, GoodbyeBeat, PluginCommand } from '../protocol';
import type { BackendLink, BackendRequest } from '../backend/backend-link';
import { describeError, logger } from '../logger';
import { parseBeatReply } from './beat-reply';
import { toFullBeat, toGoodbyeBeat, toLightBeat, type BeatContent } from './message';

/** Upper bound of one beat's deadline; shorter intervals use the interval. */
const MAX_BEAT_TIMEOUT_MS = 10_000;

/**
 * How long a backend may stay unreachable after the agent starts before that is a warning. A
 * service and its backend started together (compose, `npm start`, a deploy) often beat before
 * the backend listens: that is news only if it lasts. Twice the backend's default lease (15 s):
 * a backend that is really down is still said within a minute.
 */
export const STARTUP_GRACE_MS = 30_000;

/** Spread of the delay after a beat, as a fraction of the interval: a fleet started together must not beat in lockstep. */
const JITTER = 0.1;

/** Delay before the next beat after an answered one: the interval ±10 %. */
export function beatDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 + JITTER * (2 * random() - 1)));
}

/**
 * Delay before the next attempt after `failures` failures in a row: a quarter of the interval,
 * doubled per failure and capped at the interval, less up to 20 % jitter. Capped at the interval
 * rather than at minutes, so an outage never costs the backend more than normal beating, and a
 * backend that comes back sees every agent within one interval. Retrying never stops: Sermant
 * agents that gave up after a long outage stayed lost for good (#949).
 */
export function retryDelay(intervalMs: number, failures: number, random: () => number = Math.random): number {
  const base = Math.min(intervalMs, (intervalMs / 4) * 2 ** (failures - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

/** The backend answered a beat and refused it (4xx): it is up, so this is no start-up delay. */
class BeatRefused extends Error {}

export interface HeartbeatSenderOptions {
  link: Pick<BackendLink, 'send' | 'url' | 'urlOf' | 'pending' | 'writeNow'>;
  instanceId: string;
  /** The configured interval, until the backend sets another. */
  intervalMs: number;
  /** The current full-beat content; called before every beat. */
  describe: () => BeatContent;
  /** This beat's runtime metrics, sampled right after `describe` (none when metrics are off); must not throw. */
  sampleMetrics?: () => BeatMetrics;
  /** Receives the commands of each reply that carries some. */
  onCommands: (commands: PluginCommand[]) => void;
  /** Receives the configuration each reply delivers (applied versions show in the plugins' entries of later full beats). */
  onConfig?: (deliveries: ConfigDelivery[]) => void;
  /** The agent's queued events, for full beats to carry (none when events are off). */
  events?: BeatEvents;
}

/**
 * Events a full beat carries, so that a quiet agent's first events (`agent.started`...) need no
 * request of their own: taken off their queue for the beat, and given back unless the backend
 * says it took them (`eventsTaken`; an older backend ignores them and does not say so).
 */
export interface BeatEvents {
  take(): LastEvents | undefined;
  giveBack(events: LastEvents): void;
}

/** The agent's last events, carried by its goodbye. */
export type LastEvents = Required<Pick<GoodbyeBeat, 'events' | 'dropped'>>;

interface Farewell {
  beat: GoodbyeBeat;
  acknowledged: boolean;
}

/**
 * Beats on a timer, one at a time, and decides full vs light. A light beat is sent while the
 * content (identity, host, plugins, ext-info, health) equals that of the last full beat the backend
 * acknowledged; a full beat when it changed, after any failure, and right away when the backend
 * answers `unknown` to a light beat (it restarted and forgot us). The backend may set the
 * interval in any reply. Nothing is queued while the backend is down: each attempt sends the
 * current state. Timers are unref'd. Ends with a goodbye, after which it never beats again.
 */
export class HeartbeatSender {
  private readonly link: HeartbeatSenderOptions['link'];
  private readonly describe: () => BeatContent;
  private readonly sampleMetrics: (() => BeatMetrics) | undefined;
  private readonly onCommands: (commands: PluginCommand[]) => void;
  private readonly onConfig: ((deliveries: ConfigDelivery[]) => void) | undefined;
  private readonly events: BeatEvents | undefined;
  private readonly instanceId: string;
  private interval: number;
  private cancelNext: (() => void) | undefined;
  private stopped = false;
  private lastHeartbeatTime: number | null = null;
  /** Serialised content of the last full beat the backend acknowledged. */
  private acknowledgedContent: string | undefined;
  private fullBeatDue = true;
  private failures = 0;
  /** Whether a beat was ever acknowledged: until then, failures may be the backend still starting. */
  private answered = false;
  /** When the failures in a row began. */
  private failingSince: number | undefined;
  /** Whether the failures in a row were warned about (once per outage). */
  private outageWarned = false;
  /** A malformed reply field is worth one warning, not one per beat. */
  private replyWarned = false;
  private farewell: Farewell | undefined;

  constructor(options: HeartbeatSenderOptions) {
    this.link = options.link;
    this.instanceId = options.instanceId;
    this.interval = options.intervalMs;
    this.describe = options.describe;
    this.sampleMetrics = options.sampleMetrics;
    this.onCommands = options.onCommands;
    this.onConfig = options.onConfig;
    this.events = options.events;
  }

  get intervalMs(): number {
    return this.interval;
  }

  /** Whether the backend knows this instance: its last answer acknowledged a beat (not `unknown`, not a failure). */
  get knownToBackend(): boolean {
    return !this.fullBeatDue;
  }

  /** Whether a beat was ever sent: only then may the backend know this instance (and need a goodbye). */
  get beatSent(): boolean {
    return this.lastHeartbeatTime !== null;
  }

  /** Sends the first beat after `firstDelayMs` (0: on the next turn of the event loop), then keeps beating. */
  start(firstDelayMs = 0): void {
    this.schedule(firstDelayMs);
  }

  /** Stops beating, without a goodbye. */
  stop(): void {
    this.stopped = true;
    this.cancelNext?.();
  }

  /** Whether a goodbye is owed: a beat was sent, and no goodbye was acknowledged. */
  get owesGoodbye(): boolean {
    return this.lastHeartbeatTime !== null && !(this.farewell?.acknowledged ?? false);
  }

  /**
   * Stops beating and tells the backend this instance is going away (at most once), with the
   * agent's `last` events if given. Resolves when answered, failed or after `timeoutMs`; never rejects.
   */
  async goodbye(timeoutMs: number, last?: LastEvents): Promise<void> {
    const farewell = this.leave(last);
    if (farewell === undefined || farewell.acknowledged) return;
    try {
      const { status } = await this.link.send('PUT', HEARTBEAT_PATH, farewell.beat, timeoutMs);
      farewell.acknowledged = status >= 200 && status <= 299;
    } catch (error) {
      logger.debug(`goodbye to ${this.link.url} failed: ${describeError(error)}`);
    }
  }

  /**
   * Says the goodbye still owed (none if acknowledged, or if no beat was ever sent) at once,
   * from within 'exit': written synchronously on the link's idle connection when it has one
   * (`writeNow`); otherwise returned, for a sender that works during 'exit' (sync-send). Stops beating.
   */
  goodbyeNow(last?: LastEvents): BackendRequest | undefined {
    const farewell = this.leave(last);
    if (farewell === undefined || farewell.acknowledged) return undefined;
    const body = JSON.stringify(farewell.beat);
    if (this.link.writeNow('PUT', HEARTBEAT_PATH, body)) {
      // On its way: the kernel delivers it. Nothing is left to say.
      farewell.acknowledged = true;
      return undefined;
    }
    return this.link.pending('PUT', HEARTBEAT_PATH, body);
  }

  /** Stops beating; the goodbye owed (none before the first beat), carrying `last` events too. */
  private leave(last: LastEvents | undefined): Farewell | undefined {
    if (!this.stopped) {
      this.stop();
      // A backend that never got a beat has nothing to forget.
      if (this.lastHeartbeatTime !== null) {
        const times = { heartbeatTime: Date.now(), lastHeartbeatTime: this.lastHeartbeatTime };
        this.farewell = { beat: toGoodbyeBeat(this.instanceId, times), acknowledged: false };
      }
    }
    const farewell = this.farewell;
    if (farewell !== undefined && !farewell.acknowledged && last !== undefined) {
      // Added to what an earlier attempt carried: that one may not have arrived.
      const { events = [], dropped = 0 } = farewell.beat;
      farewell.beat = { ...farewell.beat, events: [...events, ...last.events], dropped: dropped + last.dropped };
    }
    return farewell;
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
    let carried: LastEvents | undefined;
    let eventsTaken = false;
    try {
      const content = this.describe();
      const fingerprint = JSON.stringify(content);
      const full = this.fullBeatDue || fingerprint !== this.acknowledgedContent;
      const times = { heartbeatTime: Date.now(), lastHeartbeatTime: this.lastHeartbeatTime };
      this.lastHeartbeatTime = times.heartbeatTime;
      carried = full ? this.events?.take() : undefined;
      const metrics = this.sampleMetrics?.();
      const beat = full ? toFullBeat(content, times, carried, metrics) : toLightBeat(content.instanceId, times, metrics);
      const answer = await this.link.send('PUT', HEARTBEAT_PATH, beat, Math.min(this.interval, MAX_BEAT_TIMEOUT_MS));
      eventsTaken =
        answer.status >= 200 && answer.status <= 299 && (answer.body as { eventsTaken?: unknown } | undefined)?.eventsTaken === true;
      // A goodbye was said meanwhile: nothing this reply says matters any more.
      if (this.stopped) return 0;
      if (answer.status === 429) return this.slowDown(answer.body);
      if (answer.status < 200 || answer.status > 299) throw new BeatRefused(`backend answered HTTP ${answer.status}`);
      const { reply, problems } = parseBeatReply(answer.body);
      this.recovered();
      if (problems.length > 0) this.warnAboutReply(problems);
      if (reply.interval !== undefined && reply.interval !== this.interval) {
        logger.info(`the backend set the heartbeat interval to ${reply.interval} ms (was ${this.interval} ms)`);
        this.interval = reply.interval;
      }
      if (reply.commands !== undefined && reply.commands.length > 0) this.deliver(reply.commands);
      if (reply.config !== undefined && reply.config.length > 0) this.deliverConfig(reply.config);
      if (reply.result === 'unknown') {
        this.fullBeatDue = true;
        // Re-register at once; but a full beat answered `unknown` would loop, so that one waits.
        return full ? beatDelay(this.interval) : 0;
      }
      this.fullBeatDue = false;
      if (full) this.acknowledgedContent = fingerprint;
      return beatDelay(this.interval);
    } catch (error) {
      if (this.stopped) return 0;
      this.failures += 1;
      this.fullBeatDue = true;
      const delay = retryDelay(this.interval, this.failures);
      this.reportFailure(error, delay);
      return delay;
    } finally {
      if (carried !== undefined && !eventsTaken) this.events?.giveBack(carried);
    }
  }

  /**
   * One warning per outage, so an outage does not flood the host's logs; the other failures are
   * debug. Before any beat was answered, the backend may still be starting: a failure to reach
   * it is info (below the default level, and no event) until that has lasted STARTUP_GRACE_MS.
   * A backend that answers and refuses (a 4xx: a bad token, say), or whose certificate cannot be
   * verified, is no start-up delay: see mayBeStarting.
   */
  private reportFailure(error: unknown, delay: number): void {
    const now = Date.now();
    this.failingSince ??= now;
    const failingMs = now - this.failingSince;
    const cause = describeError(error);
    if (this.outageWarned) {
      logger.debug(`heartbeat to ${this.link.url} failed (${cause}); next attempt in ${delay} ms`);
    } else if (!this.answered && mayBeStarting(error) && failingMs < STARTUP_GRACE_MS) {
      const message = `heartbeat to ${this.link.url} failed (${cause}); the backend may still be starting, next attempt in ${delay} ms`;
      if (this.failures === 1) logger.info(message);
      else logger.debug(message);
    } else {
      this.outageWarned = true;
      logger.warn(
        this.answered || this.failures === 1
          ? `heartbeat to ${this.link.url} failed (${cause}); next attempt in ${delay} ms`
          : `heartbeat to ${this.link.url} has failed since the agent started, ${this.failures} attempts in ${Math.round(failingMs / 1000)} s ` +
              `(${cause}); next attempt in ${delay} ms`,
      );
    }
  }

  /**
   * The backend's rate limit: this instance beat far faster than its interval. The reply names a
   * slower interval, which is kept from now on; the next beat waits for it.
   */
  private slowDown(body: unknown): number {
    const interval = (body as { interval?: unknown } | undefined)?.interval;
    if (Number.isSafeInteger(interval) && (interval as number) > this.interval && (interval as number) <= MAX_HEARTBEAT_INTERVAL_MS) {
      logger.warn(
        `the backend refused beats as too frequent (HTTP 429); heartbeat interval now ${String(interval)} ms (was ${this.interval} ms)`,
      );
      this.interval = interval as number;
    }
    return beatDelay(this.interval);
  }

  /** A failing command handler is the handler's problem, not a failed beat. */
  private deliver(commands: PluginCommand[]): void {
    try {
      this.onCommands(commands);
    } catch (error) {
      logger.warn({ err: error }, `commands from ${this.link.url} could not be handled: ${describeError(error)}`);
    }
  }

  /** Like commands: a failing handler is not a failed beat. */
  private deliverConfig(deliveries: ConfigDelivery[]): void {
    try {
      this.onConfig?.(deliveries);
    } catch (error) {
      logger.warn({ err: error }, `configuration from ${this.link.url} could not be handled: ${describeError(error)}`);
    }
  }

  private warnAboutReply(problems: string[]): void {
    const message = `heartbeat reply from ${this.link.url}: ${problems.join('; ')}`;
    if (this.replyWarned) {
      logger.debug(message);
    } else {
      this.replyWarned = true;
      logger.warn(message);
    }
  }

  private recovered(): void {
    const first = !this.answered;
    this.answered = true;
    if (this.failures === 0) return;
    logger.info(`heartbeats reach ${this.link.url}${first ? '' : ' again'} after ${this.failures} failed attempts`);
    this.failures = 0;
    this.failingSince = undefined;
    this.outageWarned = false;
  }
}

/** Errors of a backend not listening (yet), or not reachable (yet): a TCP or name-lookup failure, or no answer in time. */
const NOT_UP_YET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether a failed beat may be the backend still starting. Only failures to reach it are; an
 * answer refusing the beat, a certificate that does not verify (the TLS codes) or anything else
 * is a setting to fix, and the host's operator is told at once.
 */
export function mayBeStarting(error: unknown): boolean {
  if (error instanceof BeatRefused) return false;
  // node:net reports a failed connect to a host with several addresses as an AggregateError.
  const cause = error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
  if (cause instanceof Error && (cause.name === 'AbortError' || cause.name === 'TimeoutError')) return true;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_UP_YET.has(code);
}
