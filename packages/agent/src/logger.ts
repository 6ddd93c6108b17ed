import { pino, type Logger } from 'pino';

/**
 * The agent's one logger. It writes JSON lines to stderr so the host's stdout stays untouched.
 * Writes are synchronous, like Node's own stderr on pipes and files: the agent logs rarely, and
 * nothing is left in a buffer (or needs an exit hook to flush) when the host exits.
 * The level starts at `warn` and is set from `log.level` once the config is read.
 */
export const logger: Logger = pino(
  { base: { name: 'vigil-agent' }, level: 'warn' },
  pino.destination({ dest: 2, sync: true }),
);

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
