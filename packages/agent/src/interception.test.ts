/**
 * Interception in real child processes: the shop fixture app (ESM and CommonJS flavours) runs
 * without the agent, with the probe plugin, and with the probe plus plugins that misbehave.
 * The probe intercepts a built-in (http), a package from node_modules (express) and the app's
 * own module, and shows every kind of change a hook can make.
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

function runShop(kind: 'esm' | 'cjs', agent: { backendUrl: string; plugins: string } | undefined): NodeRun {
  const app = kind === 'esm' ? 'app.mjs' : 'app.cjs';
  const run =
    agent === undefined
      ? runNode(shopDir, [app])
      : runNode(shopDir, [...attach[kind], app], {
          VIGIL_BACKEND_URL: agent.backendUrl,
          VIGIL_PLUGINS_DIR: path.join(fixtures, 'plugins'),
          VIGIL_PLUGINS: agent.plugins,
          VIGIL_HEARTBEAT_INTERVAL: '100',
        });
  cleanups.push(() => run.stop());
  return run;
}

const untouched = [
  'express loaded before the app asked: false',
  'add(1, 2): 3',
  'secret(): "the secret"',
  'greet(ann): "hello ann"',
  'greet(bob) across module systems: "hello bob"',
  'divide(1, 0) threw: "RangeError: division by zero"',
  'findUser(7): {"id":7,"name":"user 7"}',
  'loadOrder(3) rejected: "no order 3"',
  'createServer result marked: null',
  'http server: {"body":"plain http","http":null,"express":null}',
  'express app: {"body":"from express","http":null,"express":null}',
];

const probed = [
  // Packages are patched when the app loads them, not when the agent starts.
  'express loaded before the app asked: false',
  // before changed an argument: 1 + 2 * 10.
  'add(1, 2): 21',
  // before skipped the original with its own result.
  'secret(): "skipped by probe"',
  // after changed the result; also through the other module system's view of the module.
  'greet(ann): "hello ann!"',
  'greet(bob) across module systems: "hello bob!"',
  // onThrow replaced the error.
  'divide(1, 0) threw: "Error: probe saw division by zero"',
  // after and onThrow of async functions saw the settled value and changed it.
  'findUser(7): {"id":7,"name":"user 7","seenBy":"probe"}',
  'loadOrder(3) rejected: "probe: no order 3"',
  // The built-in: an exported function (a named import in the ESM app) and a prototype method.
  'createServer result marked: true',
  'http server: {"body":"plain http","http":"yes","express":null}',
  // The package from node_modules.
  'express app: {"body":"from express","http":"yes","express":"/"}',
];

const lines = (text: string) => text.trimEnd().split('\n');

describe.each(['esm', 'cjs'] as const)('a %s app', (kind) => {
  beforeAll(() => requireBuilt());

  it('is intercepted by the probe; plugins that throw change nothing, and a broken plugin is skipped and reported', async () => {
    const probeBackend = await backendStandIn();
    const faultyBackend = await backendStandIn();
    cleanups.push(probeBackend.close, faultyBackend.close);
    const bare = runShop(kind, undefined);
    const withProbe = runShop(kind, { backendUrl: probeBackend.url, plugins: 'probe' });
    const withFaulty = runShop(kind, { backendUrl: faultyBackend.url, plugins: 'probe,faulty,broken-entry,future' });
    const exits = await Promise.all([bare.exited, withProbe.exited, withFaulty.exited]);

    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
    expect(lines(bare.stdout())).toEqual(untouched);
    expect(lines(withProbe.stdout())).toEqual(probed);
    expect(withFaulty.stdout()).toBe(withProbe.stdout());

    // The broken plugin is skipped and reported; the one written for another express version is left out with one line.
    const stderr = withFaulty.stderr();
    expect(stderr).toMatch(
      /plugin broken-entry \(.*broken-entry\) skipped: its code does not parse: .*broken-entry\/index\.js:\d+: Unexpected end of input/,
    );
    expect(stderr).toContain('plugins=probe,faulty,future');
    expect(stderr.match(/plugin future: express 5\.3\.0 is outside its supported range >=6 <7; not intercepted/g)).toHaveLength(1);
    const events = faultyBackend.events();
    expect(events).toContainEqual(
      expect.objectContaining({
        level: 'important',
        type: 'plugin.failed',
        attributes: { plugin: 'broken-entry', error: 'Unexpected end of input' },
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        level: 'important',
        type: 'log.warn',
        message: 'plugin faulty: before hook failed and was ignored: faulty before',
      }),
    );
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['agent.started', 'plugin.loaded', 'agent.stopped']));

    // The throwing provider costs faulty its ext-info, and nothing else.
    const lastFull = faultyBackend
      .beats()
      .filter((beat): beat is FullBeat => beat.kind === 'full')
      .at(-1);
    expect(lastFull?.plugins).toEqual([
      { name: 'probe', version: '3.1.0', extInfo: { calls: '1' } },
      { name: 'faulty', version: '0.0.1', extInfo: {} },
      { name: 'future', version: '1.0.0', extInfo: {} },
    ]);
    expect(faultyBackend.beats().at(-1)?.kind).toBe('goodbye');
  }, 30_000);
});
