import { BlockList } from 'node:net';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './vigil-config.js';

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      port: 8900,
      host: '0.0.0.0',
      lostAfterMs: 15_000,
      removeAfterMs: 600_000,
      heartbeatIntervalMs: null,
      selfPreservation: { minInstances: 10, ratio: 0.5 },
      events: { max: 100_000, maxAgeMs: 7 * 86_400_000 },
      eventsMaxBytes: 64 * 1024 * 1024,
      eventBytesPerSecond: 4 * 1024 * 1024,
      admission: { maxInstances: 500_000, maxInstancesPerClient: 500_000, instanceMaxBytes: 64 * 1024 },
      dataDir: resolve('.vigil-data'),
      webhookAllowPrivate: false,
      probeIntervalMs: 5_000,
      probeTargets: [],
      probeMaxTargetsPerHost: 64,
      probeConcurrency: 64,
      logLevel: 'info',
      store: { kind: 'memory' },
      access: {
        agentTokens: [],
        apiTokens: [],
        adminPasswordHash: null,
        sessionTtlMs: 12 * 3_600_000,
        tls: null,
        trustedProxies: expect.any(BlockList),
      },
      commands: { ttlMs: 86_400_000, outcomeMs: 300_000 },
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 },
    });
  });

  it('reads every key from the environment', () => {
    const config = loadConfig({
      VIGIL_PORT: '9000',
      VIGIL_HOST: '127.0.0.1',
      VIGIL_LOST_AFTER_MS: '2000',
      VIGIL_REMOVE_AFTER_MS: '60000',
      VIGIL_LOG_LEVEL: 'debug',
      VIGIL_HEARTBEAT_INTERVAL_MS: '1000',
      VIGIL_SELF_PRESERVATION_MIN_INSTANCES: '50',
      VIGIL_SELF_PRESERVATION_RATIO: '0.8',
      VIGIL_EVENTS_MAX: '500',
      VIGIL_EVENTS_MAX_AGE_MS: '3600000',
      VIGIL_EVENTS_MAX_BYTES: '2097152',
      VIGIL_EVENT_BYTES_PER_SECOND: '65536',
      VIGIL_MAX_INSTANCES: '1000',
      VIGIL_MAX_INSTANCES_PER_CLIENT: '100',
      VIGIL_INSTANCE_MAX_BYTES: '8192',
      VIGIL_DATA_DIR: '/var/lib/vigil',
      VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
      VIGIL_PROBE_INTERVAL_MS: '2000',
      VIGIL_PROBE_TARGETS: '10.0.0.0/8',
      VIGIL_PROBE_MAX_TARGETS_PER_HOST: '16',
      VIGIL_PROBE_CONCURRENCY: '8',
      VIGIL_HEADERS_TIMEOUT_MS: '2000',
      VIGIL_REQUEST_TIMEOUT_MS: '5000',
      VIGIL_COMMAND_TTL_MS: '60000',
      VIGIL_COMMAND_OUTCOME_MS: '5000',
    });
    expect(config).toEqual({
      port: 9000,
      host: '127.0.0.1',
      lostAfterMs: 2000,
      removeAfterMs: 60000,
      heartbeatIntervalMs: 1000,
      selfPreservation: { minInstances: 50, ratio: 0.8 },
      events: { max: 500, maxAgeMs: 3_600_000 },
      eventsMaxBytes: 2_097_152,
      eventBytesPerSecond: 65_536,
      admission: { maxInstances: 1_000, maxInstancesPerClient: 100, instanceMaxBytes: 8_192 },
      dataDir: '/var/lib/vigil',
      webhookAllowPrivate: true,
      probeIntervalMs: 2_000,
      probeTargets: [{ address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
      probeMaxTargetsPerHost: 16,
      probeConcurrency: 8,
      logLevel: 'debug',
      store: { kind: 'memory' },
      access: {
        agentTokens: [],
        apiTokens: [],
        adminPasswordHash: null,
        sessionTtlMs: 12 * 3_600_000,
        tls: null,
        trustedProxies: expect.any(BlockList),
      },
      commands: { ttlMs: 60_000, outcomeMs: 5_000 },
      http: { headersTimeoutMs: 2_000, requestTimeoutMs: 5_000 },
    });
  });

  it('reads the redis store settings, with the local Redis and the `vigil` prefix by default', () => {
    expect(loadConfig({ VIGIL_STORE: 'redis' }).store).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      prefix: 'vigil',
      cluster: false,
    });
    expect(
      loadConfig({ VIGIL_STORE: 'redis', VIGIL_REDIS_URL: 'rediss://cache.internal:6380/2', VIGIL_REDIS_PREFIX: 'fleet-eu:' }).store,
    ).toEqual({ kind: 'redis', url: 'rediss://cache.internal:6380/2', prefix: 'fleet-eu:', cluster: false });
    expect(
      loadConfig({ VIGIL_STORE: 'redis', VIGIL_REDIS_CLUSTER: 'true', VIGIL_REDIS_URL: 'redis://n1:7000, redis://n2:7001' }).store,
    ).toMatchObject({ url: 'redis://n1:7000, redis://n2:7001', cluster: true });
  });

  it('refuses an unknown store, a URL that is not a Redis one and a prefix with spaces', () => {
    expect(() => loadConfig({ VIGIL_STORE: 'etcd' })).toThrow(/VIGIL_STORE="etcd": must be memory or redis/);
    expect(() => loadConfig({ VIGIL_REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(
      /VIGIL_REDIS_URL="http:\/\/127.0.0.1:6379": must be a redis/,
    );
    expect(() => loadConfig({ VIGIL_REDIS_URL: 'not a url' })).toThrow(/VIGIL_REDIS_URL="not a url"/);
    expect(() => loadConfig({ VIGIL_REDIS_PREFIX: 'my fleet' })).toThrow(/VIGIL_REDIS_PREFIX="my fleet"/);
    expect(() => loadConfig({ VIGIL_REDIS_URL: 'redis://n1:7000,redis://n2:7001' })).toThrow(
      /VIGIL_REDIS_URL=.*set VIGIL_REDIS_CLUSTER=true/,
    );
    expect(() => loadConfig({ VIGIL_REDIS_CLUSTER: 'maybe' })).toThrow(/VIGIL_REDIS_CLUSTER="maybe": must be true or false/);
  });

  it('names every bad key and its value', () => {
    try {
      loadConfig({ VIGIL_PORT: 'eighty', VIGIL_LOST_AFTER_MS: '-5' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems[0]).toContain('VIGIL_PORT="eighty"');
      expect(problems[1]).toContain('VIGIL_LOST_AFTER_MS="-5"');
    }
  });

  it('refuses a ratio outside 0..1 and an interval below the protocol minimum', () => {
    expect(() => loadConfig({ VIGIL_SELF_PRESERVATION_RATIO: '1.5' })).toThrow(/VIGIL_SELF_PRESERVATION_RATIO="1.5"/);
    expect(() => loadConfig({ VIGIL_HEARTBEAT_INTERVAL_MS: '10' })).toThrow(/VIGIL_HEARTBEAT_INTERVAL_MS="10": must be at least 100/);
  });

  it('reads the probe targets as CIDRs and refuses an entry that is not one, naming the key', () => {
    expect(
      loadConfig({
        VIGIL_PROBE_TARGETS: '10.0.0.0/8, fd00::/8,192.168.1.5',
        VIGIL_PROBE_MAX_TARGETS_PER_HOST: '8',
        VIGIL_PROBE_CONCURRENCY: '4',
      }),
    ).toMatchObject({
      probeTargets: [
        { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { address: 'fd00::', prefix: 8, family: 'ipv6' },
        { address: '192.168.1.5', prefix: 32, family: 'ipv4' },
      ],
      probeMaxTargetsPerHost: 8,
      probeConcurrency: 4,
    });
    for (const bad of ['10.0.0.0/33', 'db.internal', '10.0.0.0/8/1', 'fe80::1%eth0/64', '10.0.0.0/x']) {
      expect(() => loadConfig({ VIGIL_PROBE_TARGETS: bad })).toThrow(new RegExp(`VIGIL_PROBE_TARGETS=.*is not an IP address or a CIDR`));
    }
    expect(() => loadConfig({ VIGIL_PROBE_CONCURRENCY: '0' })).toThrow(/VIGIL_PROBE_CONCURRENCY="0": must be at least 1/);
  });

  it('refuses a removal timeout that is not longer than the lost timeout', () => {
    expect(() => loadConfig({ VIGIL_LOST_AFTER_MS: '5000', VIGIL_REMOVE_AFTER_MS: '5000' })).toThrow(
      /VIGIL_REMOVE_AFTER_MS="5000": must be greater than VIGIL_LOST_AFTER_MS/,
    );
  });
});
