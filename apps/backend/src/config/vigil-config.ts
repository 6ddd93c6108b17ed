import { resolve } from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_BACKEND_PORT,
  DEFAULT_LOST_AFTER_MS,
  DEFAULT_REMOVE_AFTER_MS,
  MAX_HEARTBEAT_INTERVAL_MS,
  MIN_HEARTBEAT_INTERVAL_MS,
} from '@vigil/protocol';
import { parseProbeCidrs, type ProbeCidr } from '../nacos/probe-cidrs.js';
import { SECRET_KEYS, accessConfigFrom, accessEnv, checkAccessEnv, type AccessConfig } from '../access/access-config.js';

/** The backend's settings, parsed once at boot from `VIGIL_*` environment variables. */
export interface VigilConfig {
  port: number;
  host: string;
  lostAfterMs: number;
  removeAfterMs: number;
  /** Interval agents are told to beat at (and expected to); null: each agent's own. */
  heartbeatIntervalMs: number | null;
  selfPreservation: { minInstances: number; ratio: number };
  events: { max: number; maxAgeMs: number };
  /** `VIGIL_EVENTS_MAX_BYTES`: estimated bytes the event store keeps at most (oldest evicted first). */
  eventsMaxBytes: number;
  /** `VIGIL_EVENT_BYTES_PER_SECOND`: event bytes one agent token (or address without one) may send, sustained. */
  eventBytesPerSecond: number;
  /** Instance limits (instances/instance-admission.ts). */
  admission: { maxInstances: number; maxInstancesPerClient: number; instanceMaxBytes: number };
  /** Folder for settings that survive a restart (webhooks). */
  dataDir: string;
  /** Whether webhooks may target loopback and private-range addresses. */
  webhookAllowPrivate: boolean;
  /** Period of the health probes of persistent (Nacos) instances. */
  probeIntervalMs: number;
  /** CIDRs a persistent instance's probe may target besides the address it registered from (see nacos/probe-policy.ts). */
  probeTargets: ProbeCidr[];
  /** Distinct probe targets (port and path) one address may hold. */
  probeMaxTargetsPerHost: number;
  /** Probes in flight at once. */
  probeConcurrency: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Where the fleet lives: this process only, or Redis shared by several replicas (see ../store). */
  store: StoreConfig;
  /** Credentials and TLS (see access/access-config.ts). */
  access: AccessConfig;
  /** Plugin commands: how long one may wait for delivery (`VIGIL_COMMAND_TTL_MS`), then for its outcome (`VIGIL_COMMAND_OUTCOME_MS`). */
  commands: { ttlMs: number; outcomeMs: number };
  /** How long a client may take to send a request's head, and the whole request (heartbeats/beat-server.ts). */
  http: { headersTimeoutMs: number; requestTimeoutMs: number };
}

/** `url`: one Redis URL, or with `cluster` the comma-separated URLs of Redis Cluster nodes. */
export type StoreConfig = { kind: 'memory' } | { kind: 'redis'; url: string; prefix: string; cluster: boolean };

export const VIGIL_CONFIG = Symbol('VIGIL_CONFIG');

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const envSchema = z
  .object({
    VIGIL_PORT: integer(0, 65_535).default(DEFAULT_BACKEND_PORT),
    VIGIL_HOST: z.string().trim().min(1).default('0.0.0.0'),
    VIGIL_LOST_AFTER_MS: integer(100, 86_400_000).default(DEFAULT_LOST_AFTER_MS),
    VIGIL_REMOVE_AFTER_MS: integer(100, 30 * 86_400_000).default(DEFAULT_REMOVE_AFTER_MS),
    VIGIL_HEARTBEAT_INTERVAL_MS: integer(MIN_HEARTBEAT_INTERVAL_MS, MAX_HEARTBEAT_INTERVAL_MS).optional(),
    VIGIL_SELF_PRESERVATION_MIN_INSTANCES: integer(1, 100_000_000).default(10),
    VIGIL_SELF_PRESERVATION_RATIO: z
      .string()
      .trim()
      .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a number from 0 to 1')
      .transform(Number)
      .default(0.5),
    VIGIL_EVENTS_MAX: integer(100, 10_000_000).default(100_000),
    VIGIL_EVENTS_MAX_AGE_MS: integer(60_000, 365 * 86_400_000).default(7 * 86_400_000),
    VIGIL_EVENTS_MAX_BYTES: integer(1024 * 1024, 64 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    VIGIL_EVENT_BYTES_PER_SECOND: integer(1024, 64 * 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    VIGIL_MAX_INSTANCES: integer(1, 100_000_000).default(500_000),
    VIGIL_MAX_INSTANCES_PER_CLIENT: integer(1, 100_000_000).optional(),
    VIGIL_INSTANCE_MAX_BYTES: integer(4 * 1024, 64 * 1024 * 1024).default(64 * 1024),
    VIGIL_DATA_DIR: z.string().trim().min(1).default('.vigil-data'),
    VIGIL_WEBHOOK_ALLOW_PRIVATE: z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(false),
    VIGIL_PROBE_INTERVAL_MS: integer(100, 3_600_000).default(5_000),
    VIGIL_PROBE_TARGETS: z
      .string()
      .trim()
      .transform((raw, ctx) => {
        try {
          return parseProbeCidrs(raw);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      })
      .default([]),
    VIGIL_PROBE_MAX_TARGETS_PER_HOST: integer(1, 100_000).default(64),
    VIGIL_PROBE_CONCURRENCY: integer(1, 10_000).default(64),
    VIGIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    VIGIL_STORE: z.enum(['memory', 'redis'], { message: 'must be memory or redis' }).default('memory'),
    VIGIL_REDIS_URL: z
      .string()
      .trim()
      .refine(
        (urls) => urls.split(',').every((url) => URL.canParse(url.trim()) && /^rediss?:$/.test(new URL(url.trim()).protocol)),
        'must be a redis:// or rediss:// URL (a comma-separated list of them with VIGIL_REDIS_CLUSTER=true)',
      )
      .default('redis://127.0.0.1:6379'),
    VIGIL_REDIS_CLUSTER: z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(false),
    VIGIL_REDIS_PREFIX: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1 to 64 letters, digits or _ . : -')
      .default('vigil'),
    ...accessEnv,
    VIGIL_COMMAND_TTL_MS: integer(1_000, 30 * 86_400_000).default(86_400_000),
    VIGIL_COMMAND_OUTCOME_MS: integer(1_000, 86_400_000).default(300_000),
    VIGIL_HEADERS_TIMEOUT_MS: integer(100, 3_600_000).default(10_000),
    VIGIL_REQUEST_TIMEOUT_MS: integer(100, 3_600_000).default(30_000),
  })
  .refine((env) => env.VIGIL_REDIS_CLUSTER || !env.VIGIL_REDIS_URL.includes(','), {
    path: ['VIGIL_REDIS_URL'],
    message: 'lists several URLs: set VIGIL_REDIS_CLUSTER=true for a Redis Cluster, or give one URL',
  })
  .superRefine(checkAccessEnv)
  .superRefine((env, ctx) => {
    // Either may be the default here: name both values, since the one unset prints as "".
    if (env.VIGIL_HEADERS_TIMEOUT_MS > env.VIGIL_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['VIGIL_HEADERS_TIMEOUT_MS'],
        message:
          `${env.VIGIL_HEADERS_TIMEOUT_MS} ms must be at most VIGIL_REQUEST_TIMEOUT_MS (${env.VIGIL_REQUEST_TIMEOUT_MS} ms): ` +
          'the head is part of the request',
      });
    }
  })
  .refine((env) => env.VIGIL_REMOVE_AFTER_MS > env.VIGIL_LOST_AFTER_MS, {
    path: ['VIGIL_REMOVE_AFTER_MS'],
    message: 'must be greater than VIGIL_LOST_AFTER_MS (an instance is lost before it is removed)',
  });

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every bad key and its value. */
export function loadConfig(env: NodeJS.ProcessEnv): VigilConfig {
  // Empty strings count as unset, as in most shells' `VAR= cmd` usage.
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('VIGIL_') && value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        // A secret's value is never echoed, not even a wrong one.
        const value = SECRET_KEYS.has(key) ? '(hidden)' : JSON.stringify(env[key] ?? '');
        return `${key}=${value}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    port: e.VIGIL_PORT,
    host: e.VIGIL_HOST,
    lostAfterMs: e.VIGIL_LOST_AFTER_MS,
    removeAfterMs: e.VIGIL_REMOVE_AFTER_MS,
    heartbeatIntervalMs: e.VIGIL_HEARTBEAT_INTERVAL_MS ?? null,
    selfPreservation: { minInstances: e.VIGIL_SELF_PRESERVATION_MIN_INSTANCES, ratio: e.VIGIL_SELF_PRESERVATION_RATIO },
    events: { max: e.VIGIL_EVENTS_MAX, maxAgeMs: e.VIGIL_EVENTS_MAX_AGE_MS },
    eventsMaxBytes: e.VIGIL_EVENTS_MAX_BYTES,
    eventBytesPerSecond: e.VIGIL_EVENT_BYTES_PER_SECOND,
    admission: {
      maxInstances: e.VIGIL_MAX_INSTANCES,
      // Unset: one token (or loopback) may register the whole fleet, as one often does.
      maxInstancesPerClient: Math.min(e.VIGIL_MAX_INSTANCES_PER_CLIENT ?? e.VIGIL_MAX_INSTANCES, e.VIGIL_MAX_INSTANCES),
      instanceMaxBytes: e.VIGIL_INSTANCE_MAX_BYTES,
    },
    dataDir: resolve(e.VIGIL_DATA_DIR),
    webhookAllowPrivate: e.VIGIL_WEBHOOK_ALLOW_PRIVATE,
    probeIntervalMs: e.VIGIL_PROBE_INTERVAL_MS,
    probeTargets: e.VIGIL_PROBE_TARGETS,
    probeMaxTargetsPerHost: e.VIGIL_PROBE_MAX_TARGETS_PER_HOST,
    probeConcurrency: e.VIGIL_PROBE_CONCURRENCY,
    logLevel: e.VIGIL_LOG_LEVEL,
    store:
      e.VIGIL_STORE === 'redis'
        ? { kind: 'redis', url: e.VIGIL_REDIS_URL, prefix: e.VIGIL_REDIS_PREFIX, cluster: e.VIGIL_REDIS_CLUSTER }
        : { kind: 'memory' },
    access: accessConfigFrom(e),
    commands: { ttlMs: e.VIGIL_COMMAND_TTL_MS, outcomeMs: e.VIGIL_COMMAND_OUTCOME_MS },
    http: { headersTimeoutMs: e.VIGIL_HEADERS_TIMEOUT_MS, requestTimeoutMs: e.VIGIL_REQUEST_TIMEOUT_MS },
  };
}
