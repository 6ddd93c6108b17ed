import { LIMITS } from '../protocol';
import type { EventLevel } from '../protocol';
import { normalizeExtInfo } from '../heartbeat/ext-info';
import { describeError, logger, logUnheard } from '../logger';
import type { EventQueue } from './event-queue';

export type EventAttributes = Readonly<Record<string, string | number | boolean>>;

/** How an event of each level is logged. */
const LOG_LEVEL_OF = { emergency: 'error', important: 'warn', normal: 'info' } as const;

/**
 * The agent's events (Sermant's event module): framework events it records by type, and the
 * warnings and errors it logs (`log.warn` important, `log.error` emergency). Recording only
 * appends to a bounded queue, so it never blocks and never fails the caller. With events
 * switched off (`queue` undefined) nothing is recorded, and reported facts are only logged.
 */
export class AgentEvents {
  /** Called after each recorded event, so a sender can schedule a batch. */
  onRecorded: (() => void) | undefined;

  constructor(private readonly queue: EventQueue | undefined) {}

  /** Queues an event (message and attributes cut to the protocol limits). */
  record(level: EventLevel, type: string, message: string, attributes: EventAttributes = {}): void {
    if (this.queue === undefined) return;
    const { info } = normalizeExtInfo(attributes, LIMITS.eventAttributes);
    this.queue.push({
      time: Date.now(),
      level,
      type,
      message: message.slice(0, LIMITS.eventMessageLength),
      ...(Object.keys(info).length > 0 ? { attributes: info } : {}),
    });
    this.onRecorded?.();
  }

  /** Records a warning or error the agent logged (see listenToLog). */
  recordLog(level: 'warn' | 'error', message: string, error: unknown): void {
    const attributes: EventAttributes = error === undefined ? {} : { error: describeError(error) };
    this.record(level === 'error' ? 'emergency' : 'important', `log.${level}`, message, attributes);
  }

  /** Logs a fact (error, warn or info by level) and records it as one event of its own type, not also as `log.*`. */
  report(level: EventLevel, type: string, message: string, attributes: EventAttributes = {}, error?: unknown): void {
    const log = logger[LOG_LEVEL_OF[level]].bind(logger);
    logUnheard(() => (error === undefined ? log(message) : log({ err: error }, message)));
    this.record(level, type, message, error === undefined ? attributes : { ...attributes, error: describeError(error) });
  }
}
