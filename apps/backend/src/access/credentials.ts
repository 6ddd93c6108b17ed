import { hash as oneShotHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/** Shortest token or password accepted: guessing must not be a matter of minutes. */
export const MIN_SECRET_LENGTH = 16;

const digest = (secret: string): Buffer => oneShotHash('sha256', secret, 'buffer');

/**
 * A set of bearer tokens, held only as SHA-256 digests. A presented token is hashed once (a
 * microsecond: cheap on the beat path) and compared with every digest in constant time, so
 * neither the answer's timing nor a lookup structure tells how much of a guess was right.
 */
export class TokenSet<T> {
  private readonly entries: Array<{ digest: Buffer; value: T }>;

  constructor(tokens: ReadonlyArray<{ token: string; value: T }>) {
    this.entries = tokens.map(({ token, value }) => ({ digest: digest(token), value }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** What the token was configured with, or undefined for an unknown token. */
  match(presented: string): T | undefined {
    const candidate = digest(presented);
    let found: T | undefined;
    for (const entry of this.entries) {
      // Keeps looking after a match: the time taken does not depend on which token matched.
      if (timingSafeEqual(entry.digest, candidate) && found === undefined) found = entry.value;
    }
    return found;
  }
}

/** An agent token's reach: beats and Nacos calls only for services whose name starts with this ('' = any). */
export interface AgentScope {
  servicePrefix: string;
}

/**
 * `VIGIL_AGENT_TOKENS`: `token[:servicePrefix]`, comma-separated, e.g. `tok1:orders-,tok2`.
 * Throws a message naming the bad entry by position, never by its value (the value is a secret).
 */
export function parseAgentTokens(raw: string): Array<{ token: string; value: AgentScope }> {
  return raw.split(',').map((entry, index) => {
    const [token = '', servicePrefix, ...rest] = entry.trim().split(':');
    const which = `entry ${index + 1}`;
    if (rest.length > 0) throw new Error(`${which} has more than one ':' (write token or token:servicePrefix)`);
    if (servicePrefix !== undefined && servicePrefix.trim() === '') throw new Error(`${which} has an empty service prefix after ':'`);
    checkSecret(token, which);
    return { token, value: { servicePrefix: servicePrefix?.trim() ?? '' } };
  });
}

/** What an API token stands for: the name changes made with it are recorded under (`updatedBy`). */
export interface ApiTokenOwner {
  name: string;
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/**
 * `VIGIL_API_TOKENS`: `token[:name]`, comma-separated, bearer tokens for scripts. The name says
 * who made a change with it (a configuration's `updatedBy`); without one, `api-token-<n>` by
 * its position. Throws a message naming the bad entry by position, never by its value.
 */
export function parseApiTokens(raw: string): Array<{ token: string; value: ApiTokenOwner }> {
  return raw.split(',').map((entry, index) => {
    const [token = '', name, ...rest] = entry.trim().split(':');
    const which = `entry ${index + 1}`;
    if (rest.length > 0) throw new Error(`${which} has more than one ':' (write token or token:name)`);
    if (name !== undefined && !TOKEN_NAME.test(name.trim())) {
      throw new Error(`${which} has a bad name after ':' (1 to 64 letters, digits, _ . @ -, starting with a letter or digit)`);
    }
    checkSecret(token, which);
    return { token, value: { name: name?.trim() ?? `api-token-${index + 1}` } };
  });
}

function checkSecret(token: string, which: string): void {
  if (token.length < MIN_SECRET_LENGTH) throw new Error(`${which} is shorter than ${MIN_SECRET_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`${which} must be printable ASCII without spaces`);
}

// scrypt cost: about 50 ms and 16 MiB per check, paid at login only, never per request.
const SCRYPT = { N: 16_384, r: 8, p: 1, keylen: 32 } as const;
const HASH_FORMAT = /^scrypt:(\d+):(\d+):(\d+):([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** `scrypt:N:r:p:salt:hash` (salt and hash in base64): the form `VIGIL_ADMIN_PASSWORD_HASH` takes. */
export function hashPassword(password: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return `scrypt:${SCRYPT.N}:${SCRYPT.r}:${SCRYPT.p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/** Throws unless `hash` is a well-formed `scrypt:N:r:p:salt:hash` with sane costs. */
export function checkPasswordHash(hash: string): void {
  const m = HASH_FORMAT.exec(hash);
  if (!m) throw new Error('must be scrypt:N:r:p:salt:hash (make one with `npm run hash-password -w @vigil/backend`)');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 1024 || (N & (N - 1)) !== 0 || N > 1_048_576) throw new Error('N must be a power of two from 1024 to 1048576');
  if (r < 1 || r > 32 || p < 1 || p > 16) throw new Error('r must be from 1 to 32 and p from 1 to 16');
}

/** Checks a password against a `hashPassword` hash, off the event loop, in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = HASH_FORMAT.exec(hash);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, 'base64');
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
  return timingSafeEqual(actual, expected);
}
