import { pino, type Logger } from 'pino';

/** The backend's one logger: JSON lines on stdout, level from VIGIL_LOG_LEVEL. */
export function createLogger(level: string): Logger {
  return pino({ name: 'vigil-backend', level });
}
