/**
 * Property-based test of the backend's boot config: any environment either yields a valid
 * configuration or a ConfigError whose every line names a VIGIL_ key, never another exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './vigil-config.js';

const KEYS = [
  'VIGIL_PORT',
  'VIGIL_HOST',
  'VIGIL_LOST_AFTER_MS',
  'VIGIL_REMOVE_AFTER_MS',
  'VIGIL_HEARTBEAT_INTERVAL_MS',
  'VIGIL_SELF_PRESERVATION_MIN_INSTANCES',
  'VIGIL_SELF_PRESERVATION_RATIO',
  'VIGIL_EVENTS_MAX',
  'VIGIL_EVENTS_MAX_AGE_MS',
  'VIGIL_DATA_DIR',
  'VIGIL_WEBHOOK_ALLOW_PRIVATE',
  'VIGIL_PROBE_INTERVAL_MS',
  'VIGIL_LOG_LEVEL',
  'VIGIL_PROBE_TARGETS',
  'VIGIL_PROBE_MAX_TARGETS_PER_HOST',
  'VIGIL_PROBE_CONCURRENCY',
];

const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1',
    '100',
    '8900',
    '65535',
    '65536',
    '15000',
    '600000',
    '1e5',
    '0x10',
    'NaN',
    'Infinity',
    '0.5',
    '1.5',
    'true',
    'false',
    'info',
    'loud',
  ),
  fc.nat().map(String),
);

describe('backend config under random environments', () => {
  it('boots with valid settings or stops with a ConfigError naming each bad key, nothing else', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 8 }), (env) => {
        let config;
        try {
          config = loadConfig(env);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          for (const problem of (error as ConfigError).problems) expect(problem).toMatch(/^VIGIL_[A-Z_]+=/);
          return;
        }
        expect(Number.isInteger(config.port) && config.port >= 0 && config.port <= 65_535).toBe(true);
        expect(config.removeAfterMs).toBeGreaterThan(config.lostAfterMs);
        expect(config.lostAfterMs).toBeGreaterThan(0);
        expect(config.probeIntervalMs).toBeGreaterThan(0);
        expect(config.selfPreservation.ratio).toBeGreaterThanOrEqual(0);
        expect(config.selfPreservation.ratio).toBeLessThanOrEqual(1);
        expect(Number.isFinite(config.events.max)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
