import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FullBeat, InstanceList } from '@vigil/protocol';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { elsewhere, leaveElsewhere } from './elsewhere.js';
import {
  backendMain,
  freePort,
  fullBeat as harnessFullBeat,
  killAll,
  startAgentApp,
  startBackend,
  startProcess,
  waitFor,
  type Backend,
} from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AGENT_TOKEN = 'agent-token-e2e-0123456789';
const SCOPED_TOKEN = 'scoped-token-e2e-0123456789';
const API_TOKEN = 'api-token-e2e-0123456789ab';
const PASSWORD = 'correct horse battery staple';
const SECRETS = [AGENT_TOKEN, SCOPED_TOKEN, API_TOKEN, PASSWORD];

async function fetchFrom(
  backend: Backend,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const from = await elsewhere(backend);
  const response = await fetch(`${from.url}${path}`, { ...init, headers: { ...from.headers, ...init.headers } });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

const json = { 'content-type': 'application/json' };

function fullBeat(instanceId: string, service: string): FullBeat {
  return harnessFullBeat(instanceId, { service, appType: 'node', hostName: 'e2e-host', version: '1.0.0' });
}

afterEach(() => killAll());
// The network namespace "elsewhere" is created by the first test that needs it.
afterAll(() => leaveElsewhere());

describe('protected mode: no credentials configured', () => {
  it('serves loopback, refuses every other address with 403 and how to configure access, and says so at start', async () => {
    const backend = await startBackend({ VIGIL_HOST: '0.0.0.0' });
    await waitFor('the start-up lines', () => (backend.output().includes('protected mode for the dashboard') ? true : undefined));
    expect(backend.output()).toContain('protected mode for agents and Nacos clients: no VIGIL_AGENT_TOKENS');

    const refused = [
      fetchFrom(backend, '/api/v1/instances'),
      fetchFrom(backend, '/api/v1/heartbeat', { method: 'PUT', headers: json, body: JSON.stringify(fullBeat('pm-1', 'svc')) }),
      fetchFrom(backend, '/api/v1/events', { method: 'POST', headers: json, body: '{}' }),
      fetchFrom(backend, '/nacos/v1/ns/instance/list?serviceName=svc'),
      fetchFrom(backend, '/'),
      fetchFrom(backend, '/metrics'),
      fetchFrom(backend, '/%61pi/v1/instances'),
    ];
    for (const answer of await Promise.all(refused)) {
      expect(answer.status).toBe(403);
      expect(answer.text).toContain('protected mode');
      expect(answer.text).toContain('VIGIL_AGENT_TOKENS');
    }
    // socket.io's handshake is answered by engine.io, before Fastify: refused all the same.
    const socket = await fetchFrom(backend, '/socket.io/?EIO=4&transport=polling');
    expect(socket.status).toBe(403);
    expect(socket.text).toContain('protected mode');
    // Health checks stay open: they tell nothing.
    expect((await fetchFrom(backend, '/healthz')).status).toBe(200);

    // From loopback everything works as before, and a beat from elsewhere registered nothing.
    expect((await backend.instances()).total).toBe(0);
    expect((await fetch(`${backend.url}/socket.io/?EIO=4&transport=polling`)).status).toBe(200);
    const local = await fetch(`${backend.url}/api/v1/heartbeat`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify(fullBeat('pm-2', 'svc')),
    });
    expect(((await local.json()) as { result: string }).result).toBe('registered');
    // Loopback is not enough for a page of another site in a browser on this machine: no CSRF
    // (a form-encoded Nacos registration is a "simple" request a page may send), no DNS rebinding.
    const csrf = await fetch(`${backend.url}/nacos/v1/ns/instance?serviceName=csrf&ip=10.0.0.1&port=1`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(csrf.status).toBe(403);
    expect(await csrf.text()).toContain('cross-site request refused');
    const rebound = await new Promise<number>((resolve, reject) =>
      httpRequest(`${backend.url}/api/v1/instances`, { headers: { host: 'rebound.example:80' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(rebound).toBe(403);
  });

  it('a real agent on another address is refused and says why; the host app runs on', async () => {
    const backend = await startBackend({ VIGIL_HOST: '0.0.0.0' });
    const from = await elsewhere(backend);
    const app = startAgentApp({ moduleSystem: 'esm', service: 'far-away', backendUrl: from.url, intervalMs: 500 });
    await waitFor(`the agent to report the refusal (output: ${app.output()})`, () =>
      app.output().includes('HTTP 403') ? true : undefined,
    );
    expect(app.output()).toContain('app listening');
    expect((await backend.instances()).total).toBe(0);
  });
});

describe('credentials configured', () => {
  const env = {
    VIGIL_HOST: '0.0.0.0',
    VIGIL_AGENT_TOKENS: `${AGENT_TOKEN},${SCOPED_TOKEN}:orders-`,
    VIGIL_API_TOKENS: API_TOKEN,
    VIGIL_ADMIN_PASSWORD: PASSWORD,
    VIGIL_LOG_LEVEL: 'debug',
  };

  it('agents beat with their token from anywhere; without it, or outside its prefix, they are refused', async () => {
    const backend = await startBackend(env);
    const from = await elsewhere(backend);
    const agentEnv = { VIGIL_AGENT_TOKEN: AGENT_TOKEN };
    const good = startAgentApp({
      moduleSystem: 'esm',
      service: 'billing',
      backendUrl: from.url,
      intervalMs: 500,
      env: { ...agentEnv, ...from.headers },
    });
    const tokenless = startAgentApp({ moduleSystem: 'cjs', service: 'billing', backendUrl: backend.url, intervalMs: 500 });
    await waitFor('the agent with a token to register', async () =>
      (await backend.instances()).instances.find((i) => i.processId === good.child.pid && i.status === 'healthy'),
    );
    await waitFor(`the agent without one to be refused (output: ${tokenless.output()})`, () =>
      tokenless.output().includes('HTTP 401') ? true : undefined,
    );
    expect((await backend.instances()).instances.some((i) => i.processId === tokenless.child.pid)).toBe(false);

    // A token bound to `orders-` beats for orders-* only, and cannot take over another service's id.
    const beat = (service: string, id: string, token: string) =>
      fetchFrom(backend, '/api/v1/heartbeat', {
        method: 'PUT',
        headers: { ...json, authorization: `Bearer ${token}` },
        body: JSON.stringify(fullBeat(id, service)),
      });
    expect((await beat('orders-api', 'scoped-1', SCOPED_TOKEN)).status).toBe(200);
    const outside = await beat('billing', 'scoped-2', SCOPED_TOKEN);
    expect(outside.status).toBe(403);
    expect(outside.text).toContain("only speaks for services starting with 'orders-'");
    expect((await beat('billing', 'taken-1', AGENT_TOKEN)).status).toBe(200);
    expect((await beat('orders-x', 'taken-1', SCOPED_TOKEN)).status).toBe(403);
    expect((await beat('billing', 'x-1', 'not-a-token-at-all-000')).status).toBe(401);
    const events = await fetchFrom(backend, '/api/v1/events', {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${SCOPED_TOKEN}` },
      body: JSON.stringify({ v: 1, instanceId: 'taken-1', dropped: 0, events: [] }),
    });
    expect(events.status).toBe(403);

    // The REST API wants an API token or a login; an agent token is not one.
    expect((await fetchFrom(backend, '/api/v1/instances')).status).toBe(401);
    expect((await fetchFrom(backend, '/api/v1/instances', { headers: { authorization: `Bearer ${AGENT_TOKEN}` } })).status).toBe(401);
    const listed = await fetchFrom(backend, '/api/v1/instances', { headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect((JSON.parse(listed.text) as InstanceList).instances.map((i) => i.instanceId)).toEqual(
      expect.arrayContaining(['scoped-1', 'taken-1']),
    );
    expect((await fetchFrom(backend, '/socket.io/?EIO=4&transport=polling')).status).toBe(403);
    expect(
      (await fetchFrom(backend, '/socket.io/?EIO=4&transport=polling', { headers: { authorization: `Bearer ${API_TOKEN}` } })).status,
    ).toBe(200);

    // Secrets never reach a log line, at debug level, on either side.
    for (const secret of SECRETS) {
      expect(backend.output()).not.toContain(secret);
      expect(good.output()).not.toContain(secret);
    }
    expect(backend.output()).toContain('agents and Nacos clients need one of 2 agent token(s)');
  });

  it('Nacos clients pass accessToken (or log in with it as the password), held to the token prefix', async () => {
    const backend = await startBackend(env);
    const register = (token: string | undefined, service: string) =>
      fetchFrom(backend, `/nacos/v1/ns/instance?serviceName=${service}&ip=10.0.0.9&port=8080${token ? `&accessToken=${token}` : ''}`, {
        method: 'POST',
      });
    const none = await register(undefined, 'orders-nacos');
    expect(none.status).toBe(403);
    expect(none.text).toContain('accessToken required');
    expect((await register('wrong-token-0000000000', 'orders-nacos')).text).toContain('token invalid!');
    expect((await register(SCOPED_TOKEN, 'orders-nacos')).text).toBe('ok');
    expect((await register(SCOPED_TOKEN, 'DEFAULT_GROUP@@billing')).status).toBe(403);
    // The token in a form body works too, as Nacos's clients send it for beats.
    const beat = await fetchFrom(backend, '/nacos/v1/ns/instance/beat', {
      method: 'PUT',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `serviceName=orders-nacos&ip=10.0.0.9&port=8080&accessToken=${SCOPED_TOKEN}`,
    });
    expect(beat.status).toBe(200);
    const login = await fetchFrom(backend, '/nacos/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=nacos&password=${AGENT_TOKEN}`,
    });
    expect(JSON.parse(login.text)).toMatchObject({ accessToken: AGENT_TOKEN, tokenTtl: 18_000 });
    const badLogin = await fetchFrom(backend, '/nacos/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=nacos&password=nacos',
    });
    expect(badLogin.status).toBe(403);
  });

  it('takes the admin password as a scrypt hash made by `npm run hash-password`', async () => {
    const hash = execFileSync(process.execPath, [join(backendMain, '..', 'hash-password.js')], { input: `${PASSWORD}\n` })
      .toString()
      .trim();
    expect(hash).toMatch(/^scrypt:16384:8:1:/);
    const backend = await startBackend({ VIGIL_ADMIN_PASSWORD_HASH: hash, VIGIL_API_TOKENS: API_TOKEN });
    const login = (password: string) =>
      fetch(`${backend.url}/api/v1/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ password }) });
    expect((await login('wrong password, surely')).status).toBe(401);
    const ok = await login(PASSWORD);
    expect(ok.status).toBe(200);
    const session = ok.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${backend.url}/api/v1/instances`, { headers: { cookie: session } })).status).toBe(200);
    expect(backend.output()).not.toContain(hash);
    // Guessing is slowed down: ten failures from one address in 5 minutes, then 429 even for the right password.
    for (let i = 0; i < 10; i += 1) expect((await login(`wrong guess number ${i}`)).status).toBe(401);
    const blocked = await login(PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  describe('dashboard login in headless Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    });
    afterAll(async () => browser?.close());

    it('shows the login page, refuses a wrong password, logs in with a strict HttpOnly cookie, and logs out', async () => {
      const backend = await startBackend(env);
      await fetchFrom(backend, '/api/v1/heartbeat', {
        method: 'PUT',
        headers: { ...json, authorization: `Bearer ${AGENT_TOKEN}` },
        body: JSON.stringify(fullBeat('login-1', 'checkout')),
      });
      const from = await elsewhere(backend);
      const context = await browser.newContext({ extraHTTPHeaders: from.headers });
      const page = await context.newPage();
      await page.goto(`${from.url}/`);
      await page.getByTestId('login-form').waitFor();
      await page.getByTestId('login-password').fill('not the password at all');
      await page.getByTestId('login-submit').click();
      await expect.poll(() => page.getByTestId('login-error').textContent()).toBe('Wrong password.');

      await page.getByTestId('login-password').fill(PASSWORD);
      await page.getByTestId('login-submit').click();
      await page.locator('[data-testid="instance-row"][data-instance-id="login-1"]').waitFor({ timeout: 15_000 });
      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({ name: 'vigil_session', httpOnly: true, sameSite: 'Strict', secure: false });

      // The same cookie from another site's page is refused for a change (Origin check).
      const crossSite = await fetchFrom(backend, '/api/v1/instances/login-1/plugins/x/disable', {
        method: 'POST',
        headers: { cookie: `vigil_session=${cookie!.value}`, origin: 'http://evil.example' },
      });
      expect(crossSite.status).toBe(403);
      expect(crossSite.text).toContain('cross-site request refused');

      await page.getByTestId('logout').click();
      await page.getByTestId('login-form').waitFor();
      // Logged out means the old cookie value no longer opens anything.
      const after = await fetchFrom(backend, '/api/v1/instances', { headers: { cookie: `vigil_session=${cookie!.value}` } });
      expect(after.status).toBe(401);
      await context.close();
    });
  });
});

describe('rate limits and input limits', () => {
  it('an instance beating far faster than its interval gets 429 and a slower interval; another is unaffected; its goodbye is never refused', async () => {
    const backend = await startBackend({ VIGIL_HEARTBEAT_INTERVAL_MS: '2000' });
    const put = async (body: unknown) => {
      const response = await fetch(`${backend.url}/api/v1/heartbeat`, { method: 'PUT', headers: json, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect((await put(fullBeat('flood-1', 'flood'))).status).toBe(200);
    expect((await put(fullBeat('calm-1', 'calm'))).status).toBe(200);
    const light = (id: string) => ({ v: 1, kind: 'light', instanceId: id, heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() - 1 });
    const answers = [];
    for (let i = 0; i < 40; i += 1) answers.push(await put(light('flood-1')));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(20);
    expect(limited[0]!.body).toMatchObject({ error: 'too many beats', interval: 2000 });
    const calm = await put(light('calm-1'));
    expect(calm).toMatchObject({ status: 200, body: { result: 'renewed', interval: 2000 } });
    // Its goodbye is never limited, however fast it beat: the instance shows offline.
    expect((await put(light('flood-1'))).status).toBe(429);
    expect(await put({ ...light('flood-1'), kind: 'goodbye' })).toMatchObject({ status: 200, body: { result: 'offline' } });
    expect((await backend.instances()).instances.find((i) => i.instanceId === 'flood-1')?.status).toBe('offline');
  });

  it('too large, malformed and out-of-range beats get 413/400 naming the limit or field', async () => {
    const backend = await startBackend();
    const put = async (body: string) => {
      const response = await fetch(`${backend.url}/api/v1/heartbeat`, { method: 'PUT', headers: json, body });
      return { status: response.status, text: await response.text() };
    };
    const huge = await put(JSON.stringify({ ...fullBeat('big-1', 'big'), hostName: 'x'.repeat(300 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.text).toContain('at most 262144 bytes');
    expect(await put('{"v":1,')).toMatchObject({ status: 400 });
    for (const bad of ['NaN', 'Infinity', '-5', '1e3', '50']) {
      const answer = await put(JSON.stringify({ ...fullBeat('timing-1', 'timing'), metadata: { 'preserved.heart.beat.interval': bad } }));
      expect(answer.status, bad).toBe(400);
      expect(answer.text).toContain('metadata.preserved.heart.beat.interval');
    }
    const plugins = Array.from({ length: 129 }, (_, i) => ({ name: `p${i}`, version: '1', extInfo: {} }));
    const many = await put(JSON.stringify({ ...fullBeat('plugins-1', 'plugins'), plugins }));
    expect(many.status).toBe(400);
    expect(many.text).toContain('plugins');
    // Event batches: at most 100 events, each message at most 4096 characters.
    const event = (message: string) => ({ time: Date.now(), level: 'normal', type: 'log.info', message });
    const batch = async (events: unknown[]) => {
      const response = await fetch(`${backend.url}/api/v1/events`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ v: 1, instanceId: 'nobody', dropped: 0, events }),
      });
      return { status: response.status, text: await response.text() };
    };
    const tooMany = await batch(Array.from({ length: 101 }, () => event('x')));
    expect(tooMany.status).toBe(400);
    expect(tooMany.text).toContain('events');
    const tooLong = await batch([event('x'.repeat(4097))]);
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('events.0.message');
    expect((await backend.instances()).total).toBe(0);
  });
});

describe('TLS', () => {
  it('serves https with VIGIL_TLS_CERT/KEY; an agent verifies the certificate, trusting backend.tls.ca', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      {
        stdio: 'ignore',
      },
    );
    const port = await freePort();
    const backend = startProcess(process.execPath, [backendMain], {
      env: { VIGIL_PORT: String(port), VIGIL_HOST: '127.0.0.1', VIGIL_TLS_CERT: cert, VIGIL_TLS_KEY: key },
    });
    const ca = readFileSync(cert);
    const instances = () =>
      new Promise<InstanceList>((resolve, reject) => {
        httpsRequest(`https://127.0.0.1:${port}/api/v1/instances`, { ca }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(JSON.parse(text) as InstanceList));
        })
          .on('error', reject)
          .end();
      });
    await waitFor(`the https backend (output: ${backend.output()})`, () => instances(), 15_000);
    expect(backend.output()).toContain(`listening on https://localhost:${port}`);
    // Plain HTTP to the TLS port gets nothing useful.
    await expect(fetch(`http://127.0.0.1:${port}/api/v1/instances`)).rejects.toThrow();

    const url = `https://127.0.0.1:${port}`;
    const trusting = startAgentApp({
      moduleSystem: 'esm',
      service: 'tls-ok',
      backendUrl: url,
      intervalMs: 500,
      env: { VIGIL_BACKEND_TLS_CA: cert },
    });
    const unverified = startAgentApp({ moduleSystem: 'cjs', service: 'tls-no-ca', backendUrl: url, intervalMs: 500 });
    await waitFor('the agent with the CA to register', async () => (await instances()).instances.find((i) => i.service === 'tls-ok'));
    // Its beat socket runs over the same verified TLS (wss://): the backend counts it open.
    const openSockets = () =>
      new Promise<number>((resolve, reject) => {
        httpsRequest(`https://127.0.0.1:${port}/metrics`, { ca }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(Number(/^vigil_beat_sockets (\d+)$/m.exec(text)?.[1] ?? NaN)));
        })
          .on('error', reject)
          .end();
      });
    await waitFor('the agent with the CA to beat over wss://', async () => ((await openSockets()) === 1 ? true : undefined));
    await waitFor(`the agent without it to refuse the certificate (output: ${unverified.output()})`, () =>
      /certificate/i.test(unverified.output()) ? true : undefined,
    );
    expect((await instances()).instances.some((i) => i.service === 'tls-no-ca')).toBe(false);
    expect(trusting.output()).toContain('app listening');
    expect(unverified.output()).toContain('app listening');
    // The goodbye goes over the same verified TLS: the instance shows offline, not lost later.
    trusting.child.kill('SIGTERM');
    await trusting.exited;
    await waitFor('the goodbye over TLS', async () =>
      (await instances()).instances.find((i) => i.service === 'tls-ok')?.status === 'offline' ? true : undefined,
    );
  });
});

describe('Nacos health probes and read scope with agent tokens', () => {
  const env = { VIGIL_HOST: '0.0.0.0', VIGIL_AGENT_TOKENS: `${AGENT_TOKEN},${SCOPED_TOKEN}:orders-`, VIGIL_API_TOKENS: API_TOKEN };
  const targets: HttpServer[] = [];
  afterEach(async () => {
    await Promise.all(targets.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A Nacos call: parameters in the query string, from `from` (loopback or elsewhere). */
  const nacosCall = (backend: Backend, from: 'loopback' | 'elsewhere', method: string, path: string, params: Record<string, string>) => {
    const query = `/nacos/v1/ns${path}?${new URLSearchParams(params)}`;
    return from === 'elsewhere'
      ? fetchFrom(backend, query, { method })
      : fetch(`${backend.url}${query}`, { method }).then(async (r) => ({ status: r.status, text: await r.text(), headers: r.headers }));
  };

  it('probes only the registering address (or VIGIL_PROBE_TARGETS), GET a bare path, once per target, a bounded number of targets per host', async () => {
    // A real target on loopback that counts what it gets and how many requests it holds at once.
    const paths: string[] = [];
    let open = 0;
    let mostOpen = 0;
    const target = createHttpServer((req, res) => {
      paths.push(req.url ?? '');
      mostOpen = Math.max(mostOpen, ++open);
      setTimeout(() => {
        open--;
        res.end('ok');
      }, 20);
    });
    targets.push(target);
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = String((target.address() as AddressInfo).port);
    const backend = await startBackend({ ...env, VIGIL_PROBE_INTERVAL_MS: '100', VIGIL_PROBE_MAX_TARGETS_PER_HOST: '3' });
    const http = (path: string) => JSON.stringify({ 'preserved.health.checker': 'http', 'preserved.health.path': path });
    const persistent = (serviceName: string, ip: string, p: string, metadata: string) => ({
      serviceName,
      ip,
      port: p,
      ephemeral: 'false',
      metadata,
      accessToken: SCOPED_TOKEN,
    });

    // An agent token elsewhere aims a probe at this machine's loopback: refused, naming the setting.
    const aimed = await nacosCall(
      backend,
      'elsewhere',
      'POST',
      '/instance',
      persistent('orders-ssrf', '127.0.0.1', port, http('/admin/delete-everything')),
    );
    expect(aimed.status).toBe(403);
    expect(aimed.text).toContain('VIGIL_PROBE_TARGETS');
    // A query string is never sent, even to the registering address itself.
    const query = await nacosCall(
      backend,
      'loopback',
      'POST',
      '/instance',
      persistent('orders-q', '127.0.0.1', port, http('/admin/delete-everything?confirm=yes')),
    );
    expect(query.status).toBe(400);
    expect(query.text).toContain('preserved.health.path');

    // A service on loopback registering itself is probed; 30 instances sharing one target make one probe per round.
    for (let i = 0; i < 30; i++) {
      const ok = await nacosCall(
        backend,
        'loopback',
        'POST',
        '/instance',
        persistent(`orders-web-${i}`, '127.0.0.1', port, http('/healthz')),
      );
      expect(ok.text).toBe('ok');
    }
    await waitFor('several probe rounds to reach the target', () => (paths.length >= 10 ? true : undefined));
    expect(new Set(paths)).toEqual(new Set(['/healthz']));
    expect(mostOpen).toBe(1);

    // Distinct targets per host are bounded: the shared one counts once, two more fit, the next is refused.
    for (const extra of ['1', '2']) {
      expect(
        (await nacosCall(backend, 'loopback', 'POST', '/instance', persistent(`orders-tcp-${extra}`, '127.0.0.1', extra, '{}'))).text,
      ).toBe('ok');
    }
    const tooMany = await nacosCall(backend, 'loopback', 'POST', '/instance', persistent('orders-tcp-3', '127.0.0.1', '3', '{}'));
    expect(tooMany.status).toBe(429);
    expect(tooMany.text).toContain('VIGIL_PROBE_MAX_TARGETS_PER_HOST');
    // Re-registering a known target is fine; deregistering one frees room.
    expect((await nacosCall(backend, 'loopback', 'POST', '/instance', persistent('orders-tcp-1b', '127.0.0.1', '1', '{}'))).text).toBe(
      'ok',
    );
    await nacosCall(backend, 'loopback', 'DELETE', '/instance', {
      serviceName: 'orders-tcp-2',
      ip: '127.0.0.1',
      port: '2',
      accessToken: SCOPED_TOKEN,
    });
    expect((await nacosCall(backend, 'loopback', 'POST', '/instance', persistent('orders-tcp-3', '127.0.0.1', '3', '{}'))).text).toBe('ok');
  });

  it('a scoped token reads only its own services; fleet-wide counts and host load need an unscoped token', async () => {
    const backend = await startBackend(env);
    const register = (serviceName: string, accessToken: string) =>
      nacosCall(backend, 'elsewhere', 'POST', '/instance', { serviceName, ip: '10.0.0.9', port: '8080', accessToken });
    expect((await register('orders-a', SCOPED_TOKEN)).text).toBe('ok');
    expect((await register('payments-a', AGENT_TOKEN)).text).toBe('ok');
    const read = async (path: string, params: Record<string, string>, accessToken: string) =>
      nacosCall(backend, 'elsewhere', 'GET', path, { ...params, accessToken });

    const scopedServices = await read('/service/list', { pageNo: '1', pageSize: '10' }, SCOPED_TOKEN);
    expect(JSON.parse(scopedServices.text)).toEqual({ count: 1, doms: ['orders-a'] });
    expect(JSON.parse((await read('/service/list', { pageNo: '1', pageSize: '10' }, AGENT_TOKEN)).text)).toEqual({
      count: 2,
      doms: ['orders-a', 'payments-a'],
    });

    const scopedMetrics = await read('/operator/metrics', {}, SCOPED_TOKEN);
    expect(scopedMetrics.status).toBe(200);
    expect(JSON.parse(scopedMetrics.text)).toEqual({ status: 'UP' });
    expect(JSON.parse((await read('/operator/metrics', {}, AGENT_TOKEN)).text)).toMatchObject({
      status: 'UP',
      instanceCount: 2,
      load: expect.any(Number),
    });

    for (const [path, params] of [
      ['/instance/list', { serviceName: 'payments-a' }],
      ['/instance/list', { serviceName: 'DEFAULT_GROUP@@payments-a' }],
      ['/instance', { serviceName: 'payments-a', ip: '10.0.0.9', port: '8080' }],
    ] as const) {
      expect((await read(path, params, SCOPED_TOKEN)).status, `${path} ${params.serviceName}`).toBe(403);
    }
    expect((await read('/instance/list', { serviceName: 'orders-a' }, SCOPED_TOKEN)).status).toBe(200);
  });
});
