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

interface HostApp extends Proc {
  port: () => Promise<number>;
}

/** A small HTTP service under the agent; it prints the port it listens on. */
function startHost(service: string, backendUrl: string): HostApp {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-faults-'));
  mkdirSync(join(dir, 'vigil'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      `service.name=${service}`,
      `heartbeat.interval=${INTERVAL_MS}`,
      `backend.url=${backendUrl}`,
      `plugins.dir=${join(repoRoot, 'plugins')}`,
      'plugins=template',
      '',
    ].join('\n'),
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

/** One request to the host; throws on a wrong answer. How fast it answers is bench:agent's figure. */
async function hostAnswers(port: number): Promise<true> {
  const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  if (body !== 'pong') throw new Error(`host answered ${JSON.stringify(body)}`);
  return true;
}

const healthyCount = async (backend: Backend, services: string[]): Promise<number> =>
  (await backend.instances()).instances.filter((i) => services.includes(i.service) && i.status === 'healthy').length;

describe('faults on the agents’ side', () => {
  afterAll(() => killAll());

  it('re-registers every agent once a killed backend starts again, and none stays lost', async () => {
    const port = await freePort();
    let backend = await startBackendOnPort(port, { VIGIL_LOST_AFTER_MS: '2000' });
    const services = ['restart-a', 'restart-b', 'restart-c'];
    const hosts = services.map((service) => startHost(service, backend.url));
    await waitFor('three healthy instances', async () => ((await healthyCount(backend, services)) === 3 ? true : undefined));

    backend.child.kill('SIGKILL');
    // The outage: three seconds without a backend.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The services kept answering while their backend was gone.
    for (const host of hosts) expect(await hostAnswers(await host.port())).toBe(true);

    backend = await startBackendOnPort(port, { VIGIL_LOST_AFTER_MS: '2000' });
    // Retries wait at most an interval (retryDelay's unit test): thirty of them is room for a busy
    // machine, while a wait that kept doubling would not fit.
    await waitFor('all three back', async () => ((await healthyCount(backend, services)) === 3 ? true : undefined), 30 * INTERVAL_MS);
    // Each came back whole (a full beat after the backend said it did not know it), and stays
    // healthy over an observation window longer than the lost timeout.
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
        if (slow) setTimeout(() => client.writable && client.write(chunk), 10_000).unref();
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

    // Slow until the agent tried five beats: each times out after one interval (0.5 s), so that
    // takes seconds; an agent waiting on the held answers (or behind its event batches) would
    // try one per 10 s and miss the 30 s. The host answers every request meanwhile.
    slow = true;
    let answered = 0;
    const giveUpAt = Date.now() + 30_000;
    while (beatsTried < 5 && Date.now() < giveUpAt) {
      if (await hostAnswers(hostPort)) answered += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    slow = false;
    expect(beatsTried).toBeGreaterThanOrEqual(5);
    expect(answered).toBeGreaterThan(0);
    expect(host.output()).not.toMatch(/unhandled|TypeError|RangeError/i);

    // Beats flow again once answers are prompt: the lease keeps being renewed.
    const before = (await backend.instance(instance.instanceId))?.lastHeartbeatTime ?? 0;
    await waitFor(
      'a fresh beat',
      async () => (((await backend.instance(instance.instanceId))?.lastHeartbeatTime ?? 0) > before + INTERVAL_MS ? true : undefined),
      15_000,
    );
    expect((await backend.instance(instance.instanceId))?.status).toBe('healthy');
    for (const socket of sockets) socket.destroy();
    proxy.close();
  }, 90_000);
});
