import type { Logger } from 'pino';

/** Receives the agent's warnings and errors as they are logged, to report them as events too. */
export type LogListener = (level: 'warn' | 'error', message: string, error: unknown) => void;

/** The agent's log levels, as pino numbers them. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type AgentLogLevel = keyof typeof LEVELS;
type Method = Exclude<AgentLogLevel, 'silent'>;
const WARN = LEVELS.warn;
const ERROR = LEVELS.error;

/** pino's calling conventions: `(msg)`, `(obj, msg)`, `(err, msg)`. */
type LogFn = (first: unknown, ...rest: unknown[]) => void;

/** What the agent's code logs with: pino's level methods, `level` and `isLevelEnabled`. */
export interface AgentLogger {
  level: AgentLogLevel;
  isLevelEnabled(level: AgentLogLevel): boolean;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

let listener: LogListener | undefined;
/** Set while logging a fact that is already reported as an event of its own. */
let unheard = false;
let levelName: AgentLogLevel = 'warn';
let threshold: number = LEVELS.warn;
/** pino, created on the first line that is written: a host the agent has nothing to tell never loads it. */
let pinoLogger: Logger | undefined;

function pinoInstance(): Logger {
  if (pinoLogger === undefined) {
    // Required here, not imported at the top: pino and its dependencies cost the host's start
    // ~10-20 ms and some MiB, for an agent that logs rarely.
    const { pino } = require('pino') as typeof import('pino');
    const destination = pino.destination({ dest: 2, sync: true });
    // stderr may be closed under the host (a daemon, a reader gone): the lines are then lost, and the
    // write error must not be thrown into whatever code was logging (possibly the host's own call).
    destination.on('error', () => undefined);
    pinoLogger = pino({ base: { name: 'vigil-agent' }, level: levelName }, destination);
  }
  return pinoLogger;
}

function write(method: Method, args: [unknown, ...unknown[]]): void {
  if (LEVELS[method] < threshold) return;
  if (listener !== undefined && !unheard && LEVELS[method] >= WARN) {
    notify(listener, LEVELS[method] >= ERROR ? 'error' : 'warn', args);
  }
  const target = pinoInstance();
  (target[method] as (...values: unknown[]) => void)(...args);
}

/**
 * The agent's one logger: pino, writing JSON lines to stderr so the host's stdout stays untouched.
 * Writes are synchronous, like Node's own stderr on pipes and files: the agent logs rarely, and
 * nothing is left in a buffer (or needs an exit hook to flush) when the host exits.
 * The level starts at `warn` and is set from `log.level` once the config is read. pino itself is
 * loaded with the first line logged at an enabled level, not when the agent starts.
 */
export const logger: AgentLogger = {
  get level(): AgentLogLevel {
    return levelName;
  },
  set level(name: AgentLogLevel) {
    if (!(name in LEVELS)) throw new Error(`unknown log level ${String(name)}`);
    levelName = name;
    threshold = LEVELS[name];
    if (pinoLogger !== undefined) pinoLogger.level = name;
  },
  isLevelEnabled(name: AgentLogLevel): boolean {
    return name !== 'silent' && LEVELS[name] >= threshold;
  },
  trace: (...args) => write('trace', args),
  debug: (...args) => write('debug', args),
  info: (...args) => write('info', args),
  warn: (...args) => write('warn', args),
  error: (...args) => write('error', args),
  fatal: (...args) => write('fatal', args),
};

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
  if (levelName === 'silent') return;
  const target = pinoInstance();
  (target.isLevelEnabled('info') ? target : target.child({}, { level: 'info' })).info(message);
}

/** Whether pino has been loaded (for tests of the start-up path). */
export function pinoLoaded(): boolean {
  return pinoLogger !== undefined;
}

/** A short, single-line description of an error for log messages. */
export function describeError(error: unknown): string {
  // node:net reports a failed connect to a host with several addresses (autoSelectFamily) as an AggregateError with an empty message.
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
