import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { SessionState } from '@vigil/protocol';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { AccessControl, bearerToken } from './access-control.js';
import { verifyPassword } from './credentials.js';
import { isTrustedLocal } from './trusted-address.js';

/** Failed logins allowed per client address in a window, before 429. */
export const LOGIN_FAILURES_ALLOWED = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;

/** Who is asking: the peer's address and the request's headers (a trusted proxy forwards the client's). */
export interface Peer {
  address: string | undefined;
  headers: IncomingHttpHeaders;
}

export type LoginResult =
  | { outcome: 'logged-in'; session: string; ttlMs: number }
  | { outcome: 'wrong-password' }
  /** Too many failures from this client in the window: try again in `retryAfterS`. */
  | { outcome: 'limited'; retryAfterS: number };

/**
 * Dashboard logins: whether one is needed, the password check with its limit per client
 * (behind a trusted proxy, the client it forwards: AccessControl.clientOf), sessions issued and
 * ended. HTTP (status codes, cookies, cross-site refusals) is AuthController's.
 */
@Injectable()
export class AuthService {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly access: AccessControl,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** An admin password is configured, so logins are possible. */
  get loginConfigured(): boolean {
    return this.access.sessions !== null && this.config.access.adminPasswordHash !== null;
  }

  /** Whether the dashboard must show its login page, and whether this request is already let in. */
  sessionState(peer: Peer): SessionState {
    if (this.access.consoleProtected) return { loginRequired: false, authenticated: isTrustedLocal(peer.address, peer.headers) };
    const token = bearerToken(peer.headers);
    const authenticated =
      token !== undefined ? this.access.apiTokens.match(token) !== undefined : this.access.hasSession(peer.headers, this.clock.now());
    return { loginRequired: true, authenticated };
  }

  /** Checks the password (only when `loginConfigured`), within the client's limit. */
  async login(password: string, peer: Peer): Promise<LoginResult> {
    const sessions = this.access.sessions;
    const hash = this.config.access.adminPasswordHash;
    if (sessions === null || hash === null) throw new Error('no login configured');
    const now = this.clock.now();
    const client = this.access.clientOf(peer.address, peer.headers);
    const retryAfterS = this.reserveAttempt(client, now);
    if (retryAfterS !== undefined) return { outcome: 'limited', retryAfterS };
    if (!(await verifyPassword(password, hash))) return { outcome: 'wrong-password' };
    this.failures.delete(client);
    return { outcome: 'logged-in', session: sessions.issue(now), ttlMs: sessions.ttlMs };
  }

  /** Ends the session a cookie names (nothing when there is none, or no login configured). */
  logout(session: string | undefined): void {
    this.access.sessions?.revoke(session, this.clock.now());
  }

  /** Session cookies carry `Secure` when the backend serves TLS. */
  get secureCookies(): boolean {
    return this.access.secureCookies;
  }

  /**
   * Counts an attempt as failed before the password is checked (a success then clears the
   * count): attempts awaiting scrypt at the same time are all counted, so concurrency cannot pass
   * the limit. Returns the seconds to wait when the client is over it.
   */
  private reserveAttempt(client: string, now: number): number | undefined {
    const record = this.failures.get(client);
    if (record && now - record.since < LOGIN_WINDOW_MS) {
      if (record.count >= LOGIN_FAILURES_ALLOWED) return Math.ceil((record.since + LOGIN_WINDOW_MS - now) / 1000);
      record.count += 1;
      return undefined;
    }
    this.failures.set(client, { count: 1, since: now });
    // Bounded: forget finished windows once the map grows.
    if (this.failures.size > 10_000) for (const [key, r] of this.failures) if (now - r.since >= LOGIN_WINDOW_MS) this.failures.delete(key);
    return undefined;
  }
}
