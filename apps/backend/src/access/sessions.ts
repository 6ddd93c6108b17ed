import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'vigil_session';

/**
 * Dashboard logins as signed cookie values `expiry.id.mac`: checking one is an HMAC, no lookup
 * in a store, so every backend process that shares the key accepts it. The key is derived from
 * the admin password's hash: replicas with the same `VIGIL_ADMIN_PASSWORD_HASH` share sessions,
 * and changing the password ends every session. Logging out revokes the id in this process
 * until the session would have expired anyway.
 */
export class SessionBook {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    passwordHash: string,
    readonly ttlMs: number,
  ) {
    this.key = createHmac('sha256', passwordHash).update('vigil session key v1').digest();
  }

  /** A new session's cookie value, valid for `ttlMs` from `now`. */
  issue(now: number): string {
    const body = `${now + this.ttlMs}.${randomBytes(18).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  /** Whether a cookie value is a live session issued with this key. */
  isValid(value: string | undefined, now: number): boolean {
    const parsed = this.parse(value);
    return parsed !== null && parsed.expiresAt > now && !this.revoked.has(parsed.id);
  }

  /** Ends a session (logout); unknown or forged values are ignored. */
  revoke(value: string | undefined, now: number): void {
    const parsed = this.parse(value);
    if (parsed === null) return;
    for (const [id, expiresAt] of this.revoked) if (expiresAt <= now) this.revoked.delete(id);
    this.revoked.set(parsed.id, parsed.expiresAt);
  }

  private parse(value: string | undefined): { expiresAt: number; id: string } | null {
    if (value === undefined || value.length > 200) return null;
    const parts = value.split('.');
    if (parts.length !== 3) return null;
    const [expiry, id, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.mac(`${expiry}.${id}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { expiresAt: Number(expiry), id };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
