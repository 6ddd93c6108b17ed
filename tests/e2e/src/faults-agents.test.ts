/**
 * Faults on the agents' side of the wire, with real processes: the backend killed and started
 * again, and a backend whose answers take 10 s. The services under the agent must not notice.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killAll, repoRoot, startBackendOnPort, startProcess, waitFor, type Backend, type Proc } from './harness.js';

const require = createRequire(import.meta.url);
const INTERVAL_MS = 500;
/** Polling the API and a beat's round trip, on a busy two-core machine. */
const SLACK_MS = 700;

interface HostApp extends Proc {
  port: () => Promise<number>;
}

/** A small HTTP service under the agent; it prints the port it listens on. */
function startHost(service: string, backendUrl: string): HostApp {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-faults-'));
  mkdirSync(join(dir, 'vigil'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [`service.name=${service}`, `heartbeat.interval=${INTERVAL_MS}`, `backend.url=${backendUrl}`, `plugins.dir=${join(repoRoot, 'plugins')}`, 'plugins=template', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'app.mjs'),
    [
      "import { createServer } from 'node:http';",
      "const server = createServer((req, res) => res.end('pong'));",
      "server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));",
      '',
    ].join('\n'),
  );
  const proc = startProcess(process.execPath, ['--import', require.resolve('@vigil/agent/register'), 'app.mjs'], { cwd: dir });
  return {
    ...proc,
    port: () => waitFor(`the port of ${service}`, () => /port=(\d+)/.exec(proc.stdout())?.[1]).then(Number),
  };
}

/** Times one request to the host; throws on a wrong answer. */
async function timedRequest(port: number): Promise<number> {
  const started = performance.now();
  const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  if (body !== 'pong') throw new Error(`host answered ${JSON.stringify(body)}`);
  return performance.now() - started;
}

const healthyCount = async (backend: Backend, services: string[]): Promise<number> =>
  (await backend.instances()).instances.filter((i) => services.includes(i.service) && i.status === 'healthy').length;

describe('faults on the agents’ side', () => {
  afterAll(() => killAll());

  it('re-registers every agent within one interval of a killed backend starting again, and none stays lost', async () => {
    const port = await freePort();
    let backend = await startBackendOnPort(port, { VIGIL_LOST_AFTER_MS: '2000' });
    const services = ['restart-a', 'restart-b', 'restart-c'];
    const hosts = services.map((service) => startHost(service, backend.url));
    await waitFor('three healthy instances', async () => ((await healthyCount(backend, services)) === 3 ? true : undefined));

    backend.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The services kept answering while their backend was gone.
    for (const host of hosts) expect(await timedRequest(await host.port())).toBeLessThan(250);

    backend = await startBackendOnPort(port, { VIGIL_LOST_AFTER_MS: '2000' });
    const readyAt = Date.now();
    await waitFor('all three back', async () => ((await healthyCount(backend, services)) === 3 ? true : undefined), 5000);
    expect(Date.now() - readyAt).toBeLessThan(INTERVAL_MS + SLACK_MS);
    // Each came back whole (a full beat after the backend said it did not know it), and stays healthy.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const instances = (await backend.instances()).instances.filter((i) => services.includes(i.service));
    expect(instances.map((i) => i.status)).toEqual(['healthy', 'healthy', 'healthy']);
    for (const instance of instances) expect(instance.plugins[0]).toMatchObject({ name: 'template', extInfo: { status: 'started' } });
  });

  it('leaves the host unaffected while every answer of the backend takes 10 s, and beats flow again after', async () => {
    const backendPort = await freePort();
    const backend = await startBackendOnPort(backendPort, { VIGIL_LOST_AFTER_MS: '60000' });
    // A TCP proxy in front of the backend that, while `slow`, holds every answer for 10 s.
    let slow = false;
    let beatsTried = 0;
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((client) => {
      const upstream = connect(backendPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.on('data', (chunk) => {
        if (slow && chunk.toString('latin1', 0, 24).startsWith('PUT /api/v1/heartbeat')) beatsTried += 1;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (slow) setTimeout(() => client.writable && client.write(chunk), 10_000);
        else client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as { port: number }).port;

    const host = startHost('slow-backend', `http://127.0.0.1:${proxyPort}`);
    const hostPort = await host.port();
    const instance = await waitFor('the instance', async () =>
      (await backend.instances()).instances.find((i) => i.service === 'slow-backend' && i.status === 'healthy'),
    );

    slow = true;
    const latencies: number[] = [];
    const slowUntil = Date.now() + 10_000;
    while (Date.now() < slowUntil) {
      latencies.push(await timedRequest(hostPort));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    slow = false;
    // The host answered every request at once, and the agent kept trying (each beat times out
    // after one interval), rather than waiting on the stuck answers or behind its event batches.
    expect(Math.max(...latencies)).toBeLessThan(250);
    expect(latencies.length).toBeGreaterThan(40);
    expect(beatsTried).toBeGreaterThanOrEqual(5);
    expect(host.output()).not.toMatch(/unhandled|TypeError|RangeError/i);

    // Beats flow again once answers are prompt: the lease keeps being renewed.
    const before = (await backend.instance(instance.instanceId))?.lastHeartbeatTime ?? 0;
    await waitFor('a fresh beat', async () => (((await backend.instance(instance.instanceId))?.lastHeartbeatTime ?? 0) > before + INTERVAL_MS ? true : undefined), 15_000);
    expect((await backend.instance(instance.instanceId))?.status).toBe('healthy');
    for (const socket of sockets) socket.destroy();
    proxy.close();
  }, 60_000);
});
