import type { IncomingHttpHeaders } from 'node:http';
import { parseCookie } from 'cookie';
import { AUTH_PATH, EVENTS_PATH, HEARTBEAT_PATH } from '@vigil/protocol';
import type { AccessConfig } from './access-config.js';
import { TokenSet, type AgentScope, type ApiTokenOwner } from './credentials.js';
import { SESSION_COOKIE, SessionBook } from './sessions.js';
import { clientAddress, isTrustedLocal } from './trusted-address.js';
import type { BlockList } from 'node:net';

/**
 * Who a request is for: `agent` (beats, event batches), `nacos` (the Nacos API), `console`
 * (REST, socket.io, metrics, API docs), `login` (AUTH_PATH) and `asset` (the dashboard's static
 * files, which hold no data: the login page must load before anyone is logged in), `open`
 * (health checks). Decided from the matched route, not the raw URL, so that no spelling of a
 * path (percent-encoding, case) lands in a laxer class than the route it reaches.
 */
export type Audience = 'agent' | 'nacos' | 'console' | 'login' | 'asset' | 'open';

export function audienceOf(method: string, route: string | undefined): Audience {
  if (route === undefined) return 'console';
  if (route === HEARTBEAT_PATH) return 'agent';
  if (route === EVENTS_PATH && method === 'POST') return 'agent';
  if (route.startsWith('/nacos/')) return 'nacos';
  if (route === '/healthz' || route === '/readyz') return 'open';
  if (route.startsWith(`${AUTH_PATH}/`)) return 'login';
  if (route === '/*' || route === '/') return 'asset';
  return 'console';
}

export interface RequestFacts {
  method: string;
  /** The peer's address as the socket reports it. */
  address: string | undefined;
  headers: IncomingHttpHeaders;
}

export type Verdict = { allow: true; scope?: AgentScope } | { allow: false; status: 401 | 403; body: { error: string; message: string } };

export const PROTECTED_MODE_MESSAGE =
  'Vigil is in protected mode: no credentials are configured, so it only serves clients on this machine (loopback). ' +
  'To accept agents and Nacos clients from other hosts set VIGIL_AGENT_TOKENS on the backend and agent.token on each agent; ' +
  'for the dashboard and API set VIGIL_ADMIN_PASSWORD (or VIGIL_ADMIN_PASSWORD_HASH) and/or VIGIL_API_TOKENS. See SECURITY.md.';

const protectedMode: Verdict = { allow: false, status: 403, body: { error: 'protected mode', message: PROTECTED_MODE_MESSAGE } };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const crossSite: Verdict = {
  allow: false,
  status: 403,
  body: { error: 'cross-site request refused', message: 'the request came from a page of another site (Origin or Sec-Fetch-Site)' },
};

/** The bearer token of an `Authorization: Bearer <token>` header. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (header === undefined || !/^bearer /i.test(header)) return undefined;
  return header.slice(7).trim() || undefined;
}

/**
 * The access decisions, one per request, all cheap: a string compare on the address, or one
 * SHA-256 of a presented token, or one HMAC of a session cookie. Password hashing happens only
 * at login (see auth.service.ts).
 */
export class AccessControl {
  readonly agentTokens: TokenSet<AgentScope>;
  readonly apiTokens: TokenSet<ApiTokenOwner>;
  /** null: no admin password, so no dashboard logins. */
  readonly sessions: SessionBook | null;
  readonly secureCookies: boolean;
  private readonly trustedProxies: BlockList;

  constructor(config: AccessConfig) {
    this.agentTokens = new TokenSet(config.agentTokens);
    this.apiTokens = new TokenSet(config.apiTokens);
    this.sessions = config.adminPasswordHash === null ? null : new SessionBook(config.adminPasswordHash, config.sessionTtlMs);
    this.secureCookies = config.tls !== null;
    this.trustedProxies = config.trustedProxies;
  }

  /** Which client a request is for, to tell clients apart (the login limit): never a reason to trust it. */
  clientOf(address: string | undefined, headers: IncomingHttpHeaders): string {
    return clientAddress(address, headers, this.trustedProxies);
  }

  /** No agent tokens: agents and Nacos clients only from loopback. */
  get agentsProtected(): boolean {
    return this.agentTokens.size === 0;
  }

  /** No admin password and no API tokens: dashboard and API only from loopback. */
  get consoleProtected(): boolean {
    return this.apiTokens.size === 0 && this.sessions === null;
  }

  /** What the backend says at start about who it serves. */
  describe(): string[] {
    return [
      this.agentsProtected
        ? 'protected mode for agents and Nacos clients: no VIGIL_AGENT_TOKENS, so only loopback clients are served'
        : `agents and Nacos clients need one of ${this.agentTokens.size} agent token(s)`,
      this.consoleProtected
        ? 'protected mode for the dashboard and API: no VIGIL_ADMIN_PASSWORD or VIGIL_API_TOKENS, so only loopback clients are served'
        : `dashboard and API need ${[this.sessions && 'a login', this.apiTokens.size > 0 && 'an API token'].filter(Boolean).join(' or ')}`,
    ];
  }

  check(audience: Audience, facts: RequestFacts, now: number): Verdict {
    // A browser's state-changing request sent by another site's page is refused in every mode:
    // in protected mode it would otherwise pass as local whenever the operator's browser runs on
    // this machine. Bearer tokens need no such check: a cross-site page cannot set that header.
    if (audience !== 'open' && !SAFE_METHODS.has(facts.method) && isCrossSite(facts.headers) && bearerToken(facts.headers) === undefined) {
      return crossSite;
    }
    switch (audience) {
      case 'open':
        return { allow: true };
      case 'agent':
        return this.checkAgent(bearerToken(facts.headers), facts);
      case 'nacos':
        // Nacos clients send `accessToken` as a parameter, possibly in the body: checked by the route (checkNacos).
        return this.agentsProtected && !isTrustedLocal(facts.address, facts.headers) ? protectedMode : { allow: true };
      case 'asset':
      case 'login':
        return this.consoleProtected && !isTrustedLocal(facts.address, facts.headers) ? protectedMode : { allow: true };
      case 'console':
        return this.checkConsole(facts, now);
    }
  }

  /**
   * socket.io's handshake: the console's rules, and, like a state-changing request, never from
   * another site's page (the socket pushes the fleet's data to whoever opens it).
   */
  checkSocket(facts: RequestFacts, now: number): Verdict {
    if (isCrossSite(facts.headers) && bearerToken(facts.headers) === undefined) return crossSite;
    return this.check('console', facts, now);
  }

  /**
   * The beat socket's upgrade: an agent's rules, and, since the socket carries beats (state
   * changes) on a GET, never from another site's page without a token (cross-site WebSocket
   * hijacking: a page open in the operator's browser could otherwise register instances).
   */
  checkAgentSocket(facts: RequestFacts): Verdict {
    const token = bearerToken(facts.headers);
    if (isCrossSite(facts.headers) && token === undefined) return crossSite;
    return this.checkAgent(token, facts);
  }

  /** An agent's bearer token (beats, event batches), or loopback in protected mode. */
  checkAgent(token: string | undefined, facts: RequestFacts): Verdict {
    if (this.agentsProtected) return isTrustedLocal(facts.address, facts.headers) ? { allow: true } : protectedMode;
    if (token === undefined) {
      return {
        allow: false,
        status: 401,
        body: { error: 'agent token required', message: 'send Authorization: Bearer <token> (agent.token)' },
      };
    }
    const scope = this.agentTokens.match(token);
    if (scope === undefined)
      return { allow: false, status: 401, body: { error: 'unknown agent token', message: 'the token is not in VIGIL_AGENT_TOKENS' } };
    return { allow: true, scope };
  }

  /** Nacos's `accessToken` parameter (or a bearer header), when agent tokens are configured; null: allowed. */
  checkNacos(token: string | undefined): AgentScope | null | string {
    if (this.agentsProtected) return null;
    if (token === undefined) return 'accessToken required';
    return this.agentTokens.match(token) ?? 'token invalid!';
  }

  private checkConsole(facts: RequestFacts, now: number): Verdict {
    if (this.consoleProtected) return isTrustedLocal(facts.address, facts.headers) ? { allow: true } : protectedMode;
    const token = bearerToken(facts.headers);
    if (token !== undefined) {
      if (this.apiTokens.match(token)) return { allow: true };
      return { allow: false, status: 401, body: { error: 'unknown API token', message: 'the token is not in VIGIL_API_TOKENS' } };
    }
    if (this.hasSession(facts.headers, now)) return { allow: true };
    return {
      allow: false,
      status: 401,
      body: { error: 'login required', message: `log in at / (POST ${AUTH_PATH}/login) or send Authorization: Bearer <API token>` },
    };
  }

  /**
   * Who makes a console request the access hook let through, for the record of a change (a
   * plugin configuration's `updatedBy`): the API token's name, `admin` for a dashboard login (there
   * is one admin password), `anonymous` when no console credentials are configured (loopback only).
   */
  actorOf(headers: IncomingHttpHeaders, now: number): string {
    if (this.consoleProtected) return 'anonymous';
    const token = bearerToken(headers);
    if (token !== undefined) return this.apiTokens.match(token)?.name ?? 'anonymous';
    return this.hasSession(headers, now) ? 'admin' : 'anonymous';
  }

  hasSession(headers: IncomingHttpHeaders, now: number): boolean {
    if (this.sessions === null || headers.cookie === undefined) return false;
    return this.sessions.isValid(sessionCookieOf(headers), now);
  }
}

export function sessionCookieOf(headers: IncomingHttpHeaders): string | undefined {
  return headers.cookie === undefined ? undefined : parseCookie(headers.cookie)[SESSION_COOKIE];
}

/**
 * A browser's state-changing request from another site. The session cookie is SameSite=Strict,
 * so browsers do not send it cross-site at all; this is the second lock: the Origin (or, without
 * one, Fetch Metadata) must say the request came from a page of this host.
 */
export function isCrossSite(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    try {
      return new URL(origin).host !== headers.host;
    } catch {
      return true;
    }
  }
  return headers['sec-fetch-site'] === 'cross-site';
}

/** A request URL fit for a log line: Nacos's `accessToken` and `password` parameters blanked. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:accessToken|password)=)[^&#]*/gi, '$1[redacted]');
}
