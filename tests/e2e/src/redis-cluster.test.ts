import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, redisAnswers, startAgentApp, startBackendOnPort, startProcess, waitFor, type Backend } from './harness.js';

const INTERVAL_MS = 500;
const LOST_AFTER_MS = 2_000;
const SERVICE = 'e2e-redis-cluster';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';
if (!existsSync(REDIS_SERVER) || !existsSync(REDIS_CLI)) {
  throw new Error(`the Redis Cluster test needs ${REDIS_SERVER} and ${REDIS_CLI} (set REDIS_SERVER and REDIS_CLI to use others)`);
}

describe('the redis store on a Redis Cluster', () => {
  let nodes: number[];
  let a: Backend;
  let b: Backend;

  beforeAll(async () => {
    // Three masters of the test's own, no persistence.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-cluster-'));
    nodes = [await freePort(), await freePort(), await freePort()];
    for (const port of nodes) {
      startProcess(
        REDIS_SERVER,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
        ],
        {},
      );
    }
    for (const port of nodes)
      await waitFor(`redis node ${port}`, async () => ((await redisAnswers(`redis://127.0.0.1:${port}`)) ? true : undefined));
    execFileSync(REDIS_CLI, ['--cluster', 'create', ...nodes.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: 'pipe',
    });
    await waitFor('the cluster to be ok', () =>
      execFileSync(REDIS_CLI, ['-p', String(nodes[0]), 'cluster', 'info'])
        .toString()
        .includes('cluster_state:ok')
        ? true
        : undefined,
    );
    const env = {
      VIGIL_STORE: 'redis',
      VIGIL_REDIS_CLUSTER: 'true',
      // Two of the three nodes as seeds: the client learns the rest.
      VIGIL_REDIS_URL: `redis://127.0.0.1:${nodes[0]},redis://127.0.0.1:${nodes[1]}`,
      VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS),
    };
    [a, b] = await Promise.all([startBackendOnPort(await freePort(), env), startBackendOnPort(await freePort(), env)]);
  });

  afterAll(() => killAll());

  it('shares the fleet between two replicas and makes one lost event per instance', async () => {
    const agent = startAgentApp({ moduleSystem: 'esm', service: SERVICE, backendUrl: `${a.url},${b.url}`, intervalMs: INTERVAL_MS });
    const seen = await waitFor(`the instance on replica B (agent output: ${agent.output()})`, async () =>
      (await b.instances()).instances.find((i) => i.processId === agent.pid && i.status === 'healthy'),
    );
    for (const backend of [a, b]) {
      const ready = (await (await fetch(`${backend.url}/readyz`)).json()) as { status: string; store: string };
      expect(ready).toMatchObject({ status: 'ready', store: 'redis' });
    }
    agent.child.kill('SIGKILL');
    for (const backend of [a, b]) {
      await waitFor(
        `the instance lost on ${backend.url}`,
        async () => ((await backend.instance(seen.instanceId))?.status === 'lost' ? true : undefined),
        LOST_AFTER_MS + 5_000,
      );
    }
    // An observation window for a second (wrong) lost event from the other replica.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const backend of [a, b]) {
      const lost = (await (
        await fetch(`${backend.url}/api/v1/events?type=instance.lost&instanceId=${seen.instanceId}`)
      ).json()) as EventList;
      expect(lost.total, backend.url).toBe(1);
    }
  });
});
