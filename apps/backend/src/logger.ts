import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Credentials that could reach a log object (request headers, parameters) are censored by pino
 * itself, a second line behind never logging them at all (SECURITY.md).
 */
const REDACT = ['*.authorization', '*.cookie', '*.password', '*.accessToken', '*.headers.authorization', '*.headers.cookie'];

/** The backend's one logger: JSON lines on stdout (or `destination`, for tests), level from VIGIL_LOG_LEVEL. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { name: 'vigil-backend', level, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
