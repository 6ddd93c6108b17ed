import { pino, type Logger } from 'pino';

/** Receives the agent's warnings and errors as they are logged, to report them as events too. */
export type LogListener = (level: 'warn' | 'error', message: string, error: unknown) => void;

/** pino's numeric levels. */
const WARN = 40;
const ERROR = 50;

let listener: LogListener | undefined;
/** Set while logging a fact that is already reported as an event of its own. */
let unheard = false;

const destination = pino.destination({ dest: 2, sync: true });
// stderr may be closed under the host (a daemon, a reader gone): the lines are then lost, and the
// write error must not be thrown into whatever code was logging (possibly the host's own call).
destination.on('error', () => undefined);

/**
 * The agent's one logger. It writes JSON lines to stderr so the host's stdout stays untouched.
 * Writes are synchronous, like Node's own stderr on pipes and files: the agent logs rarely, and
 * nothing is left in a buffer (or needs an exit hook to flush) when the host exits.
 * The level starts at `warn` and is set from `log.level` once the config is read.
 */
export const logger: Logger = pino(
  {
    base: { name: 'vigil-agent' },
    level: 'warn',
    hooks: {
      logMethod(args, method, level) {
        if (listener !== undefined && !unheard && level >= WARN) {
          notify(listener, level >= ERROR ? 'error' : 'warn', args);
        }
        method.apply(this, args);
      },
    },
  },
  destination,
);

/** Sends every warning and error logged from now on to `next` as well (one listener; undefined removes it). */
export function listenToLog(next: LogListener | undefined): void {
  listener = next;
}

/** Logs without the listener hearing it, for a fact the caller reports as an event itself. */
export function logUnheard(log: () => void): void {
  unheard = true;
  try {
    log();
  } finally {
    unheard = false;
  }
}

/** Calls the listener with the message and error of pino's arguments: `(msg)`, `(obj, msg)` or `(err, msg)`. */
function notify(to: LogListener, level: 'warn' | 'error', args: unknown[]): void {
  const [first, second] = args;
  const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
  const error = first instanceof Error ? first : (first as { err?: unknown } | undefined)?.err;
  try {
    to(level, message, error);
  } catch {
    // Reporting a log line must never break logging, nor the agent code that logged it.
  }
}

/** Logs `message` at info even when the level hides info (the start line), unless the agent is silenced. */
export function announce(message: string): void {
  if (logger.level === 'silent') return;
  const target = logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
  target.info(message);
}

/** A short, single-line description of an error for log messages. */
export function describeError(error: unknown): string {
  // undici reports a failed connect to a host with several addresses as an AggregateError with an empty message.
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
