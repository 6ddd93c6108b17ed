import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startBackend, waitFor, type Backend } from './harness.js';

const LOST_AFTER_MS = 1_000;
const PROBE_INTERVAL_MS = 100;
/** What the Java client sends on every call, form body or not. */
const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';

interface Answer {
  status: number;
  type: string;
  text: string;
}

interface InstanceList {
  name: string;
  clusters: string;
  hosts: Array<{ instanceId: string; ip: string; port: number; healthy: boolean; ephemeral: boolean; metadata: Record<string, string> }>;
}

/** Listens on `port` (0: any free one) on loopback; resolves to the port. */
async function listen(server: Server | HttpServer, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

const close = (server: Server | HttpServer) => new Promise((resolve) => server.close(resolve));

describe('Nacos v1 open API against the real backend', () => {
  let backend: Backend;
  const listeners: Array<Server | HttpServer> = [];

  /** One call the way a Nacos client makes it: parameters in the query string and/or a form body. */
  async function nacos(method: string, path: string, query: Record<string, string> = {}, form?: Record<string, string>): Promise<Answer> {
    const response = await fetch(`${backend.url}/nacos/v1/ns${path}?${new URLSearchParams(query)}`, {
      method,
      headers: { 'content-type': FORM },
      ...(method !== 'GET' && { body: new URLSearchParams(form ?? {}).toString() }),
    });
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
  }
  const json = <T>(answer: Answer): T => {
    expect(answer.status, answer.text).toBe(200);
    return JSON.parse(answer.text) as T;
  };
  const list = async (query: Record<string, string>) => json<InstanceList>(await nacos('GET', '/instance/list', query));
  const statusOf = async (id: string) => (await backend.instance(id))?.status;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS), VIGIL_PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS) });
  });
  afterAll(async () => {
    await Promise.all(listeners.filter((l) => l.listening).map(close));
    killAll();
  });

  it("registers the way the Java client does, and lists in Nacos's shape echoing clusters", async () => {
    const registered = await nacos(
      'POST',
      '/instance',
      {
        namespaceId: 'public',
        serviceName: 'DEFAULT_GROUP@@orders',
        groupName: 'DEFAULT_GROUP',
        clusterName: 'DEFAULT',
        ip: '10.1.0.1',
        port: '8080',
        weight: '1.0',
        enable: 'true',
        healthy: 'true',
        ephemeral: 'true',
        metadata: '{"version":"1.4.2"}',
      },
      {},
    );
    expect(registered).toMatchObject({ status: 200, text: 'ok' });
    expect(registered.type).toMatch(/^text\/plain/);

    const answer = await list({
      namespaceId: 'public',
      serviceName: 'DEFAULT_GROUP@@orders',
      clusters: '',
      udpPort: '0',
      clientIP: '10.1.0.9',
      healthyOnly: 'false',
    });
    expect(answer).toMatchObject({
      name: 'DEFAULT_GROUP@@orders',
      groupName: 'DEFAULT_GROUP',
      clusters: '',
      cacheMillis: 3000,
      dom: 'DEFAULT_GROUP@@orders',
      allIPs: false,
      reachProtectionThreshold: false,
      hosts: [
        {
          instanceId: '10.1.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
          ip: '10.1.0.1',
          port: 8080,
          weight: 1,
          healthy: true,
          enabled: true,
          ephemeral: true,
          clusterName: 'DEFAULT',
          serviceName: 'DEFAULT_GROUP@@orders',
          metadata: { version: '1.4.2' },
          valid: true,
          marked: false,
          instanceHeartBeatInterval: 5000,
          instanceHeartBeatTimeOut: LOST_AFTER_MS,
        },
      ],
    });
    expect(typeof (answer as unknown as { lastRefTime: unknown }).lastRefTime).toBe('number');
    expect((await list({ serviceName: 'orders', clusters: 'DEFAULT,other' })).clusters).toBe('DEFAULT,other');
  });

  it('shows a Nacos instance in /api/v1/instances with source nacos and its coordinates', async () => {
    await nacos(
      'POST',
      '/instance',
      {},
      { serviceName: 'catalog', groupName: 'shop', clusterName: 'hz', ip: '10.1.0.2', port: '9000', weight: '3' },
    );
    const instance = await backend.instance('10.1.0.2#9000#hz#shop@@catalog');
    expect(instance).toMatchObject({
      source: 'nacos',
      service: 'catalog',
      appName: 'shop',
      hostName: '10.1.0.2',
      ip: ['10.1.0.2'],
      processId: null,
      version: 'nacos-v1',
      plugins: [],
      ephemeral: true,
      status: 'healthy',
      nacos: { namespaceId: 'public', groupName: 'shop', clusterName: 'hz', port: 9000, weight: 3, enabled: true },
    });
  });

  it("registers and deregisters with form bodies (the Node client's way)", async () => {
    const instance = { serviceName: 'payments', groupName: 'shop', ip: '10.1.0.3', port: '7000' };
    expect((await nacos('POST', '/instance', {}, instance)).text).toBe('ok');
    expect((await list({ serviceName: 'payments', groupName: 'shop' })).hosts.map((h) => h.ip)).toEqual(['10.1.0.3']);
    const detail = json<{ instanceId: string; healthy: boolean }>(await nacos('GET', '/instance', instance));
    expect(detail).toMatchObject({ instanceId: '10.1.0.3#7000#DEFAULT#shop@@payments', healthy: true, clusterName: 'DEFAULT' });

    expect(await nacos('DELETE', '/instance', {}, instance)).toMatchObject({ status: 200, text: 'ok' });
    expect((await list({ serviceName: 'shop@@payments' })).hosts).toEqual([]);
    expect(await backend.instance('10.1.0.3#7000#DEFAULT#shop@@payments')).toBeUndefined();
    expect(await nacos('GET', '/instance', instance)).toMatchObject({ status: 404, text: 'caused: no service shop@@payments found!;' });
  });

  it('answers a light beat for an unknown instance 20404, then a beat with a body registers it again', async () => {
    const params = { namespaceId: 'public', serviceName: 'DEFAULT_GROUP@@mailer', clusterName: 'DEFAULT', ip: '10.1.0.4', port: '2525' };
    expect(json(await nacos('PUT', '/instance/beat', params))).toEqual({ clientBeatInterval: 5000, code: 20404 });

    const beat = JSON.stringify({
      cluster: 'DEFAULT',
      ip: '10.1.0.4',
      metadata: { 'preserved.heart.beat.interval': '1000' },
      period: 1000,
      port: 2525,
      scheduled: false,
      serviceName: 'DEFAULT_GROUP@@mailer',
      stopped: false,
      weight: 1.0,
    });
    expect(json(await nacos('PUT', '/instance/beat', params, { beat }))).toEqual({
      clientBeatInterval: 1000,
      code: 10200,
      lightBeatEnabled: true,
    });
    expect(await backend.instance('10.1.0.4#2525#DEFAULT#DEFAULT_GROUP@@mailer')).toMatchObject({ source: 'nacos', status: 'healthy' });
    expect(json(await nacos('PUT', '/instance/beat', params))).toEqual({ clientBeatInterval: 1000, code: 10200, lightBeatEnabled: true });
  });

  it('turns an ephemeral instance that stops beating lost (unhealthy for clients), and a beat brings it back', async () => {
    const params = { serviceName: 'DEFAULT_GROUP@@quiet', ip: '10.1.0.5', port: '80' };
    await nacos('POST', '/instance', params);
    const id = '10.1.0.5#80#DEFAULT#DEFAULT_GROUP@@quiet';
    const lost = await waitFor('the silent instance to turn lost', async () => {
      const instance = await backend.instance(id);
      return instance?.status === 'lost' ? instance : undefined;
    });
    expect(lost.statusSince - lost.lastHeartbeatTime).toBe(LOST_AFTER_MS);
    expect((await list({ serviceName: 'quiet' })).hosts).toMatchObject([{ ip: '10.1.0.5', healthy: false, valid: false }]);
    expect((await list({ serviceName: 'quiet', healthyOnly: 'true' })).hosts).toEqual([]);

    expect(json(await nacos('PUT', '/instance/beat', params))).toMatchObject({ code: 10200 });
    expect(await statusOf(id)).toBe('healthy');
  });

  it('probes a persistent instance over TCP: unhealthy after 3 failures, healthy after 3 passes, never removed', async () => {
    const server = createServer((socket) => socket.end());
    listeners.push(server);
    const port = await listen(server);
    await nacos('POST', '/instance', { serviceName: 'db', ip: '127.0.0.1', port: String(port), ephemeral: 'false' });
    const id = `127.0.0.1#${port}#DEFAULT#DEFAULT_GROUP@@db`;
    expect(await backend.instance(id)).toMatchObject({ ephemeral: false, status: 'healthy' });

    await close(server);
    const closedAt = Date.now();
    await waitFor('the closed TCP listener to make the instance unhealthy', async () =>
      (await statusOf(id)) === 'unhealthy' ? true : undefined,
    );
    // Three probes a probe interval apart, not the first failure.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(PROBE_INTERVAL_MS * 1.5);
    expect((await list({ serviceName: 'db' })).hosts).toMatchObject([{ healthy: false, ephemeral: false }]);

    // Far longer than the lost timeout: silence does not remove a persistent instance.
    await new Promise((resolve) => setTimeout(resolve, LOST_AFTER_MS * 2));
    expect(await statusOf(id)).toBe('unhealthy');

    const again = createServer((socket) => socket.end());
    listeners.push(again);
    await listen(again, port);
    await waitFor('the reopened TCP listener to make the instance healthy', async () =>
      (await statusOf(id)) === 'healthy' ? true : undefined,
    );
    expect((await list({ serviceName: 'db' })).hosts).toMatchObject([{ healthy: true }]);

    await nacos('DELETE', '/instance', { serviceName: 'db', ip: '127.0.0.1', port: String(port) });
    expect(await backend.instance(id)).toBeUndefined();
  });

  it('probes a persistent instance with an HTTP GET of its metadata path', async () => {
    let healthCode = 200;
    const server = createHttpServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? healthCode : 404;
      res.end();
    });
    listeners.push(server);
    const port = await listen(server);
    const metadata = JSON.stringify({ 'preserved.health.checker': 'http', 'preserved.health.path': '/healthz' });
    await nacos('POST', '/instance', {}, { serviceName: 'web', ip: '127.0.0.1', port: String(port), ephemeral: 'false', metadata });
    const id = `127.0.0.1#${port}#DEFAULT#DEFAULT_GROUP@@web`;

    // A healthy HTTP server keeps it healthy over several probe rounds.
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS * 5));
    expect(await statusOf(id)).toBe('healthy');

    healthCode = 503;
    await waitFor('503 answers to make the instance unhealthy', async () => ((await statusOf(id)) === 'unhealthy' ? true : undefined));
    healthCode = 200;
    await waitFor('200 answers to make the instance healthy', async () => ((await statusOf(id)) === 'healthy' ? true : undefined));

    await close(server);
    await waitFor('the closed HTTP listener to make the instance unhealthy', async () =>
      (await statusOf(id)) === 'unhealthy' ? true : undefined,
    );
    const again = createHttpServer((_req, res) => res.end('ok'));
    listeners.push(again);
    await listen(again, port);
    await waitFor('the reopened HTTP listener to make the instance healthy', async () =>
      (await statusOf(id)) === 'healthy' ? true : undefined,
    );
  });

  it('answers errors as Nacos does: text naming the parameter, 404 text, and lists services and metrics', async () => {
    expect(await nacos('POST', '/instance', { ip: '10.1.0.6', port: '1' })).toMatchObject({
      status: 400,
      text: "caused: Param 'serviceName' is required.;",
    });
    const badPort = await nacos('POST', '/instance', { serviceName: 'x', ip: '10.1.0.6', port: 'eighty' });
    expect(badPort.status).toBe(400);
    expect(badPort.text).toMatch(/^caused: Param 'port' is illegal/);
    expect(badPort.type).toMatch(/^text\/plain/);
    expect(await nacos('GET', '/instance', { serviceName: 'orders', ip: '10.1.0.1', port: '1' })).toMatchObject({
      status: 404,
      text: 'caused: no matched ip found!;',
    });

    const services = json<{ count: number; doms: string[] }>(await nacos('GET', '/service/list', { pageNo: '1', pageSize: '100' }));
    expect(services.doms).toEqual(expect.arrayContaining(['orders', 'mailer', 'quiet']));
    expect(services.doms).not.toContain('catalog');
    expect(json(await nacos('GET', '/service/list', { pageNo: '1', pageSize: '10', groupName: 'shop' }))).toEqual({
      count: 1,
      doms: ['catalog'],
    });

    const metrics = json<Record<string, unknown>>(await nacos('GET', '/operator/metrics'));
    expect(metrics).toMatchObject({ status: 'UP', serviceCount: expect.any(Number), instanceCount: expect.any(Number) });
    expect(metrics.instanceCount).toBeGreaterThanOrEqual(3);
  });
});
