/**
 * A plugin whose hooks and ext-info provider never settle (they return pending promises) in a
 * real child process: the host's output and exit are those of the run without it, and
 * the agent keeps beating with the other plugins' ext-info.
 */
import path from 'node:path';
import type { FullBeat } from './protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backendStandIn } from './test-support/backend-stand-in';
import { attach, fixtures, requireBuilt, runNode, type NodeRun } from './test-support/node-process';

const shopDir = path.join(fixtures, 'apps', 'shop');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runShop(kind: 'esm' | 'cjs', backendUrl: string, plugins: string): NodeRun {
  const run = runNode(shopDir, [...attach[kind], kind === 'esm' ? 'app.mjs' : 'app.cjs'], {
    VIGIL_BACKEND_URL: backendUrl,
    VIGIL_PLUGINS_DIR: path.join(fixtures, 'plugins'),
    VIGIL_PLUGINS: plugins,
    VIGIL_HEARTBEAT_INTERVAL: '100',
  });
  cleanups.push(() => run.stop());
  return run;
}

describe.each(['esm', 'cjs'] as const)('a %s app with a plugin that hangs', (kind) => {
  beforeAll(() => requireBuilt());

  it('runs and exits as with the well-behaved plugin alone, and its beats carry on', async () => {
    const calm = await backendStandIn();
    const hanging = await backendStandIn();
    cleanups.push(calm.close, hanging.close);
    const withProbe = runShop(kind, calm.url, 'probe');
    const withHanging = runShop(kind, hanging.url, 'probe,hanging');
    const [probeExit, hangingExit] = await Promise.all([withProbe.exited, withHanging.exited]);

    expect(hangingExit.code).toBe(0);
    expect(probeExit.code).toBe(0);
    expect(withHanging.stdout()).toBe(withProbe.stdout());
    // Pending promises hold nothing open: were they to, the host would never exit and the test's timeout would fail it.

    const lastFull = hanging
      .beats()
      .filter((beat): beat is FullBeat => beat.kind === 'full')
      .at(-1);
    expect(lastFull?.plugins).toEqual([
      { name: 'probe', version: '3.1.0', extInfo: { calls: '1' } },
      { name: 'hanging', version: '0.0.1', extInfo: {} },
    ]);
    expect(hanging.beats().at(-1)?.kind).toBe('goodbye');
  }, 30_000);
});
