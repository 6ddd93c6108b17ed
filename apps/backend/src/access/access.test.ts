import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/vigil-config.js';
import { AccessControl, audienceOf, redactUrl, type RequestFacts } from './access-control.js';
import { createLogger } from '../logger.js';
import { hashPassword, parseAgentTokens, TokenSet, verifyPassword } from './credentials.js';
import { SessionBook } from './sessions.js';
import { isLoopback, isTrustedLocal } from './trusted-address.js';

const AGENT = 'agent-token-0123456789';
const SCOPED = 'scoped-token-0123456789';
const API = 'api-token-0123456789abc';

const facts = (address: string, headers: RequestFacts['headers'] = {}, method = 'GET'): RequestFacts => ({ method, address, headers });

describe('trusted addresses (protected mode)', () => {
  it('trusts loopback in every spelling a socket reports, nothing else', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address), address).toBe(true);
    for (const address of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '0.0.0.0', '::', '128.0.0.1', undefined]) {
      expect(isLoopback(address), String(address)).toBe(false);
    }
  });

  it('does not trust a loopback request addressed to another name (DNS rebinding)', () => {
    for (const host of ['127.0.0.1:8900', 'localhost:8900', 'LOCALHOST', 'app.localhost:3000', '[::1]:8900', '127.0.0.2']) {
      expect(isTrustedLocal('127.0.0.1', { host }), host).toBe(true);
    }
    for (const host of ['evil.example:8900', 'evil.example', '192.0.2.2:8900', '[fe80::1]:8900']) {
      expect(isTrustedLocal('127.0.0.1', { host }), host).toBe(false);
    }
  });

  it('does not trust a loopback request relayed by a proxy', () => {
    expect(isTrustedLocal('127.0.0.1', {})).toBe(true);
    expect(isTrustedLocal('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).toBe(false);
    expect(isTrustedLocal('127.0.0.1', { forwarded: 'for=203.0.113.9' })).toBe(false);
  });

  it('keeps refusing a relayed request in protected mode when the proxy is trusted and forwards a loopback client', () => {
    const behindProxy = new AccessControl(loadConfig({ VIGIL_TRUSTED_PROXIES: '127.0.0.1,::1' }).access);
    const relayed = facts('127.0.0.1', { host: '127.0.0.1:8900', 'x-forwarded-for': '127.0.0.1' });
    expect(behindProxy.clientOf(relayed.address, relayed.headers)).toBe('127.0.0.1');
    for (const audience of ['console', 'agent', 'nacos', 'login'] as const) {
      expect(behindProxy.check(audience, relayed, 0), audience).toMatchObject({ allow: false, status: 403 });
    }
  });
});

describe('credentials', () => {
  it('matches tokens by value and returns what each was configured with', () => {
    const set = new TokenSet(parseAgentTokens(`${AGENT},${SCOPED}:orders-`));
    expect(set.match(AGENT)).toEqual({ servicePrefix: '' });
    expect(set.match(SCOPED)).toEqual({ servicePrefix: 'orders-' });
    expect(set.match(`${AGENT}x`)).toBeUndefined();
    expect(set.match('')).toBeUndefined();
  });

  it('refuses short, blank-prefixed or malformed tokens, naming the entry and never the value', () => {
    expect(() => parseAgentTokens('short')).toThrow('entry 1 is shorter than 16 characters');
    expect(() => parseAgentTokens(`${AGENT}:`)).toThrow('entry 1 has an empty service prefix');
    expect(() => parseAgentTokens(`${AGENT},${SCOPED}:a:b`)).toThrow('entry 2 has more than one');
    expect(() => parseAgentTokens('with space 0123456789')).toThrow('printable ASCII');
  });

  it('hashes passwords with scrypt and verifies them', async () => {
    const hash = hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt:16384:8:1:/);
    expect(hash).not.toContain('correct');
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
  });

  it('issues sessions that expire, resist forgery and end at logout', () => {
    const book = new SessionBook(hashPassword('correct horse battery'), 60_000);
    const cookie = book.issue(1_000);
    expect(book.isValid(cookie, 2_000)).toBe(true);
    expect(book.isValid(cookie, 61_000)).toBe(false);
    const [expiry, id, mac] = cookie.split('.');
    expect(book.isValid(`${Number(expiry) + 1e9}.${id}.${mac}`, 2_000)).toBe(false);
    expect(new SessionBook(hashPassword('another password 1234'), 60_000).isValid(cookie, 2_000)).toBe(false);
    book.revoke(cookie, 3_000);
    expect(book.isValid(cookie, 3_000)).toBe(false);
  });
});

describe('AccessControl', () => {
  const open = new AccessControl(loadConfig({}).access);
  const guarded = new AccessControl(
    loadConfig({ VIGIL_AGENT_TOKENS: `${AGENT},${SCOPED}:orders-`, VIGIL_API_TOKENS: API, VIGIL_ADMIN_PASSWORD: 'correct horse battery' })
      .access,
  );

  it('classifies requests by the route they reach', () => {
    expect(audienceOf('PUT', '/api/v1/heartbeat')).toBe('agent');
    expect(audienceOf('POST', '/api/v1/events')).toBe('agent');
    expect(audienceOf('GET', '/api/v1/events')).toBe('console');
    expect(audienceOf('GET', '/nacos/v1/ns/instance/list')).toBe('nacos');
    expect(audienceOf('GET', '/api/v1/instances/:id')).toBe('console');
    expect(audienceOf('GET', '/metrics')).toBe('console');
    expect(audienceOf('GET', '/healthz')).toBe('open');
    expect(audienceOf('GET', '/*')).toBe('asset');
    expect(audienceOf('POST', '/api/v1/auth/login')).toBe('login');
    expect(audienceOf('GET', undefined)).toBe('console');
  });

  it('without credentials serves loopback only, and tells others how to configure access', () => {
    for (const audience of ['agent', 'nacos', 'console', 'asset', 'login'] as const) {
      expect(open.check(audience, facts('127.0.0.1'), 0)).toEqual({ allow: true });
      const refused = open.check(audience, facts('192.0.2.2'), 0);
      expect(refused).toMatchObject({ allow: false, status: 403, body: { error: 'protected mode' } });
      expect(JSON.stringify(refused)).toContain('VIGIL_AGENT_TOKENS');
    }
    expect(open.check('open', facts('192.0.2.2'), 0)).toEqual({ allow: true });
    // Even from loopback, another site's page may not change anything (CSRF against a local backend) nor open the socket.
    const evil = { host: '127.0.0.1:8900', origin: 'https://evil.example' };
    expect(open.check('console', facts('127.0.0.1', evil, 'POST'), 0)).toMatchObject({
      status: 403,
      body: { error: 'cross-site request refused' },
    });
    expect(open.check('nacos', facts('127.0.0.1', { host: '127.0.0.1:8900', 'sec-fetch-site': 'cross-site' }, 'POST'), 0)).toMatchObject({
      status: 403,
    });
    expect(open.checkSocket(facts('127.0.0.1', evil), 0)).toMatchObject({ status: 403 });
    expect(open.checkSocket(facts('127.0.0.1', { host: '127.0.0.1:8900', origin: 'http://127.0.0.1:8900' }), 0)).toEqual({ allow: true });
    // A link from another site to the dashboard still opens it (a GET navigation).
    expect(open.check('asset', facts('127.0.0.1', { host: 'localhost:8900', 'sec-fetch-site': 'cross-site' }), 0)).toEqual({ allow: true });
    expect(open.describe().join('\n')).toMatch(/protected mode for agents.*\n.*protected mode for the dashboard/);
  });

  it('with tokens asks everyone for them, loopback included, and scopes agents to their prefix', () => {
    expect(guarded.check('agent', facts('127.0.0.1'), 0)).toMatchObject({ allow: false, status: 401 });
    expect(guarded.check('agent', facts('192.0.2.2', { authorization: `Bearer ${AGENT}` }), 0)).toEqual({
      allow: true,
      scope: { servicePrefix: '' },
    });
    expect(guarded.check('agent', facts('192.0.2.2', { authorization: `Bearer ${SCOPED}` }), 0)).toEqual({
      allow: true,
      scope: { servicePrefix: 'orders-' },
    });
    expect(guarded.check('agent', facts('192.0.2.2', { authorization: `Bearer ${API}` }), 0)).toMatchObject({ allow: false, status: 401 });
    expect(guarded.checkNacos(undefined)).toBe('accessToken required');
    expect(guarded.checkNacos('nope-nope-nope-nope')).toBe('token invalid!');
    expect(guarded.checkNacos(SCOPED)).toEqual({ servicePrefix: 'orders-' });
  });

  it('lets the console in by API token or session, and refuses cross-site changes', () => {
    expect(guarded.check('console', facts('127.0.0.1'), 0)).toMatchObject({ allow: false, status: 401 });
    expect(guarded.check('console', facts('192.0.2.2', { authorization: `Bearer ${API}` }), 0)).toEqual({ allow: true });
    expect(guarded.check('console', facts('192.0.2.2', { authorization: `Bearer ${AGENT}` }), 0)).toMatchObject({ status: 401 });
    const cookie = `vigil_session=${guarded.sessions!.issue(0)}`;
    const host = 'vigil.example:8900';
    expect(guarded.check('console', facts('192.0.2.2', { cookie, host }), 1)).toEqual({ allow: true });
    expect(guarded.check('console', facts('192.0.2.2', { cookie, host, origin: `http://${host}` }, 'POST'), 1)).toEqual({ allow: true });
    expect(guarded.check('console', facts('192.0.2.2', { cookie, host, origin: 'http://evil.example' }, 'POST'), 1)).toMatchObject({
      status: 403,
      body: { error: 'cross-site request refused' },
    });
    expect(guarded.check('console', facts('192.0.2.2', { cookie, host, 'sec-fetch-site': 'cross-site' }, 'DELETE'), 1)).toMatchObject({
      status: 403,
    });
    // Assets and the login page load without a session: they hold no data.
    expect(guarded.check('asset', facts('192.0.2.2'), 0)).toEqual({ allow: true });
  });
});

describe('secrets in logs', () => {
  it('blanks Nacos tokens and passwords in logged URLs, and pino censors credential fields', () => {
    expect(redactUrl(`/nacos/v1/ns/instance/list?serviceName=a&accessToken=${AGENT}&x=1`)).toBe(
      '/nacos/v1/ns/instance/list?serviceName=a&accessToken=[redacted]&x=1',
    );
    expect(redactUrl(`/nacos/v1/auth/login?password=${AGENT}`)).toBe('/nacos/v1/auth/login?password=[redacted]');
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(line) });
    log.info({ req: { headers: { authorization: `Bearer ${AGENT}`, cookie: 'vigil_session=abc' } }, params: { accessToken: AGENT } }, 'x');
    expect(lines.join('')).not.toContain(AGENT);
    expect(lines.join('')).not.toContain('vigil_session=abc');
    expect(lines.join('')).toContain('[redacted]');
  });
});

describe('access settings', () => {
  it('never echoes a secret in a boot error', () => {
    try {
      loadConfig({ VIGIL_AGENT_TOKENS: 'tiny-secret', VIGIL_ADMIN_PASSWORD: 'short-secret' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).message;
      expect(text).toContain('VIGIL_AGENT_TOKENS=(hidden): entry 1 is shorter than 16 characters');
      expect(text).toContain('VIGIL_ADMIN_PASSWORD=(hidden): must be at least 16 characters');
      expect(text).not.toContain('tiny-secret');
      expect(text).not.toContain('short-secret');
    }
  });

  it('keeps only a hash of a plain admin password, and refuses both forms at once or half a TLS pair', () => {
    const config = loadConfig({ VIGIL_ADMIN_PASSWORD: 'correct horse battery' });
    expect(config.access.adminPasswordHash).toMatch(/^scrypt:/);
    expect(JSON.stringify(config)).not.toContain('correct horse battery');
    expect(() => loadConfig({ VIGIL_ADMIN_PASSWORD: 'correct horse battery', VIGIL_ADMIN_PASSWORD_HASH: hashPassword('x') })).toThrow(
      'set VIGIL_ADMIN_PASSWORD or VIGIL_ADMIN_PASSWORD_HASH, not both',
    );
    expect(() => loadConfig({ VIGIL_ADMIN_PASSWORD_HASH: 'md5:abc' })).toThrow(
      'VIGIL_ADMIN_PASSWORD_HASH=(hidden): must be scrypt:N:r:p:salt:hash',
    );
    expect(() => loadConfig({ VIGIL_TLS_CERT: '/etc/hostname' })).toThrow('VIGIL_TLS_KEY');
    expect(() => loadConfig({ VIGIL_TLS_CERT: '/no/such.pem', VIGIL_TLS_KEY: '/no/such.key' })).toThrow(
      /VIGIL_TLS_CERT="\/no\/such.pem": ENOENT/,
    );
  });
});
