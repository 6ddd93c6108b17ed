import { readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { z } from 'zod';
import { parseTrustedProxies } from './trusted-address.js';
import {
  AgentScope,
  ApiTokenOwner,
  checkPasswordHash,
  hashPassword,
  MIN_SECRET_LENGTH,
  parseAgentTokens,
  parseApiTokens,
} from './credentials.js';

/** Who may do what: parsed from `VIGIL_*` at boot (see docs/backend.md and SECURITY.md). */
export interface AccessConfig {
  /** `VIGIL_AGENT_TOKENS`; empty: agents and Nacos clients are served from loopback only. */
  agentTokens: Array<{ token: string; value: AgentScope }>;
  /** `VIGIL_API_TOKENS`: bearer tokens for scripts, each with the name changes made with it are recorded under. */
  apiTokens: Array<{ token: string; value: ApiTokenOwner }>;
  /** scrypt hash of the admin password (`VIGIL_ADMIN_PASSWORD_HASH`, or made at boot from `VIGIL_ADMIN_PASSWORD`). */
  adminPasswordHash: string | null;
  /** `VIGIL_SESSION_TTL_MS`: how long a dashboard login lasts. */
  sessionTtlMs: number;
  /** `VIGIL_TLS_CERT` / `VIGIL_TLS_KEY`, read at boot (PEM); null: plain HTTP. */
  tls: { cert: Buffer; key: Buffer } | null;
  /** `VIGIL_TRUSTED_PROXIES`: peers whose forwarding headers name the client (empty: none). */
  trustedProxies: BlockList;
}

/** Keys whose values are secrets: never echoed in boot errors or logs. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'VIGIL_AGENT_TOKENS',
  'VIGIL_API_TOKENS',
  'VIGIL_ADMIN_PASSWORD',
  'VIGIL_ADMIN_PASSWORD_HASH',
]);

const parsedWith =
  <T>(parse: (raw: string) => T) =>
  (raw: string, ctx: z.RefinementCtx): T | typeof z.NEVER => {
    try {
      return parse(raw);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  };

const pemFile = z
  .string()
  .trim()
  .min(1)
  .transform(parsedWith((path) => readFileSync(path)));

/** Entries of the backend's env schema (config/vigil-config.ts) for access control. */
export const accessEnv = {
  VIGIL_AGENT_TOKENS: z.string().transform(parsedWith(parseAgentTokens)).optional(),
  VIGIL_API_TOKENS: z.string().transform(parsedWith(parseApiTokens)).optional(),
  VIGIL_ADMIN_PASSWORD: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
  VIGIL_ADMIN_PASSWORD_HASH: z
    .string()
    .trim()
    .superRefine((hash, ctx) => parsedWith(checkPasswordHash)(hash, ctx))
    .optional(),
  VIGIL_SESSION_TTL_MS: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(60_000, 'must be at least 60000')
        .max(30 * 86_400_000, `must be at most ${30 * 86_400_000}`),
    )
    .default(12 * 3_600_000),
  VIGIL_TLS_CERT: pemFile.optional(),
  VIGIL_TLS_KEY: pemFile.optional(),
  VIGIL_TRUSTED_PROXIES: z.string().transform(parsedWith(parseTrustedProxies)).optional(),
};

type AccessEnv = z.output<z.ZodObject<typeof accessEnv>>;

/** Cross-key rules, as zod issues on the key to fix. */
export function checkAccessEnv(env: AccessEnv, ctx: z.RefinementCtx): void {
  if (env.VIGIL_ADMIN_PASSWORD !== undefined && env.VIGIL_ADMIN_PASSWORD_HASH !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['VIGIL_ADMIN_PASSWORD'],
      message: 'set VIGIL_ADMIN_PASSWORD or VIGIL_ADMIN_PASSWORD_HASH, not both',
    });
  }
  if ((env.VIGIL_TLS_CERT === undefined) !== (env.VIGIL_TLS_KEY === undefined)) {
    const missing = env.VIGIL_TLS_CERT === undefined ? 'VIGIL_TLS_CERT' : 'VIGIL_TLS_KEY';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'VIGIL_TLS_CERT and VIGIL_TLS_KEY go together: set both or neither' });
  }
}

export function accessConfigFrom(env: AccessEnv): AccessConfig {
  const plain = env.VIGIL_ADMIN_PASSWORD;
  return {
    agentTokens: env.VIGIL_AGENT_TOKENS ?? [],
    apiTokens: env.VIGIL_API_TOKENS ?? [],
    // A plain password is hashed at once and not kept: only the hash is ever compared with.
    adminPasswordHash: env.VIGIL_ADMIN_PASSWORD_HASH ?? (plain === undefined ? null : hashPassword(plain)),
    sessionTtlMs: env.VIGIL_SESSION_TTL_MS,
    tls: env.VIGIL_TLS_CERT && env.VIGIL_TLS_KEY ? { cert: env.VIGIL_TLS_CERT, key: env.VIGIL_TLS_KEY } : null,
    trustedProxies: env.VIGIL_TRUSTED_PROXIES ?? new BlockList(),
  };
}
