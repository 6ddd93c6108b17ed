import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { stringifySetCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_PATH, describeIssues, loginRequestSchema, type SessionState } from '@vigil/protocol';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { AccessControl, bearerToken, isCrossSite, sessionCookieOf } from './access-control.js';
import { verifyPassword } from './credentials.js';
import { SESSION_COOKIE } from './sessions.js';
import { isTrustedLocal } from './trusted-address.js';

/** Failed logins allowed per client address in a window, before 429. */
export const LOGIN_FAILURES_ALLOWED = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;

/**
 * `POST /api/v1/auth/login` `{ password }` sets the session cookie (HttpOnly, SameSite=Strict,
 * Secure under TLS); `POST /api/v1/auth/logout` ends it; `GET /api/v1/auth/session` tells the
 * dashboard whether to show its login page. Failed logins are counted per client address (behind
 * a trusted proxy, the address it forwards: AccessControl.clientOf).
 */
@Injectable()
export class AuthRoutes implements OnModuleInit {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(AccessControl) private readonly access: AccessControl,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get(`${AUTH_PATH}/session`, (request): SessionState => this.state(request));
    fastify.post(`${AUTH_PATH}/login`, { bodyLimit: 4096 }, (request, reply) => this.login(request, reply));
    fastify.post(`${AUTH_PATH}/logout`, (request, reply) => {
      if (isCrossSite(request.headers)) return reply.code(403).send({ error: 'cross-site request refused' });
      this.access.sessions?.revoke(sessionCookieOf(request.headers), this.clock.now());
      return reply.header('set-cookie', this.cookie('', 0)).code(204).send();
    });
  }

  private state(request: FastifyRequest): SessionState {
    if (this.access.consoleProtected) return { loginRequired: false, authenticated: isTrustedLocal(request.socket.remoteAddress, request.headers) };
    const token = bearerToken(request.headers);
    const authenticated =
      token !== undefined ? this.access.apiTokens.match(token) !== undefined : this.access.hasSession(request.headers, this.clock.now());
    return { loginRequired: true, authenticated };
  }

  private async login(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const sessions = this.access.sessions;
    if (sessions === null || this.config.access.adminPasswordHash === null) {
      return reply.code(404).send({ error: 'no login configured', message: 'set VIGIL_ADMIN_PASSWORD or VIGIL_ADMIN_PASSWORD_HASH to enable dashboard logins' });
    }
    if (isCrossSite(request.headers)) return reply.code(403).send({ error: 'cross-site request refused' });
    const parsed = loginRequestSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: 'invalid login', issues: describeIssues(parsed.error) });
    const now = this.clock.now();
    const client = this.access.clientOf(request.socket.remoteAddress, request.headers);
    const retryAfterS = this.reserveAttempt(client, now);
    if (retryAfterS !== undefined) {
      return reply.code(429).header('retry-after', retryAfterS).send({ error: 'too many failed logins', retryAfterS });
    }
    if (!(await verifyPassword(parsed.data.password, this.config.access.adminPasswordHash))) {
      return reply.code(401).send({ error: 'wrong password' });
    }
    this.failures.delete(client);
    return reply.header('set-cookie', this.cookie(sessions.issue(now), sessions.ttlMs)).send({ authenticated: true });
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

  private cookie(value: string, maxAgeMs: number): string {
    return stringifySetCookie({
      name: SESSION_COOKIE,
      value,
      httpOnly: true,
      sameSite: 'strict',
      secure: this.access.secureCookies,
      path: '/',
      maxAge: Math.floor(maxAgeMs / 1000),
    });
  }
}
