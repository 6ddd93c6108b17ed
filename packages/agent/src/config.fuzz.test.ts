/**
 * Property-based tests of the agent's config parser: whatever a properties file or the
 * environment holds, loading never throws (the agent must never break its host) and every
 * setting comes out valid, either as given or as its default with a warning naming the key.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { LIMITS, MAX_HEARTBEAT_INTERVAL_MS, MIN_HEARTBEAT_INTERVAL_MS } from './protocol';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, HEALTH_TIMEOUT_RANGE_MS, LOG_LEVELS, envVariableFor, loadConfig, type AgentConfig } from './config';

const cwd = mkdtempSync(path.join(tmpdir(), 'vigil-config-fuzz-'));
mkdirSync(path.join(cwd, 'vigil'));
const file = path.join(cwd, 'vigil', 'config.properties');

/** Values that look almost right, plus arbitrary text. */
const value = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom(
    '',
    ' ',
    'true',
    'TRUE',
    'false',
    'yes',
    '0',
    '-1',
    '99',
    '100',
    '5000',
    '3600000',
    '3600001',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    'http://127.0.0.1:8900',
    'https://a.example/base/',
    'ftp://x',
    'http://',
    'http://a,http://b',
    ',,,',
    'template,../etc',
    '.',
    '..',
    'info',
    'SILENT',
    'x'.repeat(LIMITS.nameLength + 1),
  ),
);
const key = fc.oneof(fc.constantFrom(...CONFIG_KEYS), fc.string({ maxLength: 20 }));

function expectValid(config: AgentConfig): void {
  expect(typeof config.heartbeatEnabled).toBe('boolean');
  expect(typeof config.eventsEnabled).toBe('boolean');
  expect(typeof config.metricsEnabled).toBe('boolean');
  const [shortest, longest] = HEALTH_TIMEOUT_RANGE_MS;
  const timeout = config.healthTimeoutMs;
  expect(Number.isInteger(timeout) && timeout >= shortest && timeout <= longest, `health.timeout ${timeout}`).toBe(true);
  for (const ms of [config.heartbeatIntervalMs, config.eventSendIntervalMs]) {
    expect(Number.isInteger(ms)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(MIN_HEARTBEAT_INTERVAL_MS);
    expect(ms).toBeLessThanOrEqual(MAX_HEARTBEAT_INTERVAL_MS);
  }
  expect(config.backendUrls.length).toBeGreaterThan(0);
  for (const url of config.backendUrls) expect(['http:', 'https:']).toContain(new URL(url).protocol);
  for (const name of [config.serviceName, config.appName, config.appType, config.artifact]) {
    expect(name.length).toBeGreaterThan(0);
    expect(name.length).toBeLessThanOrEqual(LIMITS.nameLength);
  }
  expect(path.isAbsolute(config.pluginsDir)).toBe(true);
  for (const folder of config.plugins ?? []) expect(folder).toBe(path.basename(folder));
  expect(LOG_LEVELS).toContain(config.logLevel);
}

describe('config parser under random input', () => {
  it('never throws and always yields valid settings, whatever the file and the environment hold', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.dictionary(key, value, { maxKeys: 12 }).map((entries) =>
            Object.entries(entries)
              .map(([k, v]) => `${k}=${v}`)
              .join('\n'),
          ),
          fc.string({ maxLength: 500 }),
        ),
        fc.dictionary(fc.constantFrom(...CONFIG_KEYS), value, { maxKeys: 6 }),
        (text, overrides) => {
          writeFileSync(file, text);
          const env = Object.fromEntries(Object.entries(overrides).map(([k, v]) => [envVariableFor(k), v]));
          const { config, warnings } = loadConfig({ env, cwd });
          expectValid(config);
          for (const warning of warnings) expect(warning).toMatch(/^config /);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('names the key of every bad value it replaced by its default', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('heartbeat.interval', 'event.send.interval', 'health.timeout'),
        fc.oneof(
          fc.constantFrom('-1', '9', '1e3', 'NaN', '3600001', ''),
          fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/^\s*\d+\s*$/.test(s)),
        ),
        (name, bad) => {
          writeFileSync(file, '');
          const { warnings } = loadConfig({ env: { [envVariableFor(name)]: bad }, cwd });
          expect(warnings.some((warning) => warning.startsWith(`config ${name}: bad value`))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
