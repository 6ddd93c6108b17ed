import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PROBE_HEADER_BYTES, httpProbe, probeTargetOf, tcpProbe } from './health-probes.js';
import { toInstanceInput, type NacosInstance } from './nacos-instance.js';

const servers: Array<Server | HttpServer> = [];

async function listen<S extends Server | HttpServer>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one that was just freed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('health probes against real local listeners', () => {
  it('TCP: passes when a connection opens, fails when refused', async () => {
    const port = await listen(createServer((socket) => socket.end()));
    expect(await tcpProbe('127.0.0.1', port, 1_000)).toBe(true);
    expect(await tcpProbe('127.0.0.1', await closedPort(), 1_000)).toBe(false);
  });

  it('HTTP: passes on 2xx for the path, fails on other codes, a refused connection or a timeout', async () => {
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url === '/slow') return; // never answers
        res.statusCode = req.url === '/healthz' ? 204 : 503;
        res.end();
      }),
    );
    expect(await httpProbe('127.0.0.1', port, '/healthz', 1_000)).toBe(true);
    expect(await httpProbe('127.0.0.1', port, '/other', 1_000)).toBe(false);
    expect(await httpProbe('127.0.0.1', await closedPort(), '/healthz', 1_000)).toBe(false);
    // Without its timeout the probe would wait for good: the test's own timeout would fail it.
    expect(await httpProbe('127.0.0.1', port, '/slow', 200)).toBe(false);
  });

  it('chooses the probe from the instance metadata', () => {
    const instance = (metadata: Record<string, string>) =>
      toInstanceInput({
        namespaceId: 'public',
        groupName: 'DEFAULT_GROUP',
        serviceName: 'db',
        clusterName: 'DEFAULT',
        ip: 'db-1.internal',
        port: 5432,
        weight: 1,
        enabled: true,
        ephemeral: false,
        metadata,
      }) as NacosInstance;
    expect(probeTargetOf(instance({}))).toEqual({ kind: 'tcp', host: 'db-1.internal', port: 5432 });
    expect(probeTargetOf(instance({ 'preserved.health.checker': 'http' }))).toEqual({
      kind: 'http',
      host: 'db-1.internal',
      port: 5432,
      path: '/',
    });
    // Registration refuses a query string (probe-policy.ts); one already stored is never sent.
    expect(probeTargetOf(instance({ 'preserved.health.checker': 'http', 'preserved.health.path': '/ready?deep=1' }))).toMatchObject({
      path: '/ready',
    });
  });

  it('HTTP: a redirect fails and is not followed; the body is never read, and a huge head is refused', async () => {
    const seen: string[] = [];
    let bodyClosed: Promise<void> = Promise.resolve();
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push(req.url ?? '');
        if (req.url === '/moved') {
          res.writeHead(302, { location: '/admin/delete-everything' }).end();
        } else if (req.url === '/endless') {
          // An answer that never ends: the probe must hang up rather than read it.
          res.writeHead(200);
          const chunk = Buffer.alloc(64 * 1024, 'x');
          const timer = setInterval(() => res.write(chunk), 1);
          bodyClosed = new Promise((resolve) => res.once('close', () => (clearInterval(timer), resolve())));
        } else {
          res.writeHead(200, { 'x-big': 'y'.repeat(MAX_PROBE_HEADER_BYTES * 2) }).end();
        }
      }),
    );
    expect(await httpProbe('127.0.0.1', port, '/moved', 1_000)).toBe(false);
    expect(await httpProbe('127.0.0.1', port, '/endless', 5_000)).toBe(true);
    await bodyClosed;
    expect(await httpProbe('127.0.0.1', port, '/big-head', 1_000)).toBe(false);
    expect(seen).toEqual(['/moved', '/endless', '/big-head']);
  });
});
