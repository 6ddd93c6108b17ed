/**
 * How a process ends under the agent, in real child processes: each app is run with and without
 * the agent, and must end the same way (exit code or signal, output), the agent having said
 * goodbye to the backend on the way out, within its ~200 ms budget.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { backendStandIn, type StandIn } from './test-support/backend-stand-in';
import { attach, requireBuilt, runNode, type Exit, type NodeRun } from './test-support/node-process';

const listen =
  "const server = require('node:http').createServer((req, res) => res.end('ok'));\nserver.listen(0, '127.0.0.1', () => console.log('listening'));\n";

/** Apps that end in different ways; `signal` is sent once the app listens and the agent has beaten. */
const apps: { name: string; source: string; signal?: NodeJS.Signals; expected: Partial<Exit>; stdout: string }[] = [
  {
    name: 'an idle server, on SIGTERM',
    source: listen,
    signal: 'SIGTERM',
    expected: { code: null, signal: 'SIGTERM' },
    stdout: 'listening\n',
  },
  {
    name: 'an idle server, on SIGINT',
    source: listen,
    signal: 'SIGINT',
    expected: { code: null, signal: 'SIGINT' },
    stdout: 'listening\n',
  },
  {
    name: 'a server closing itself on SIGTERM',
    source: `${listen}process.on('SIGTERM', () => { console.log('closing'); server.close(); });\n`,
    signal: 'SIGTERM',
    expected: { code: 0, signal: null },
    stdout: 'listening\nclosing\n',
  },
  {
    // What signal-exit does for the many tools that use it: re-raise only when it is the last listener.
    name: 'a server whose library re-raises SIGTERM when alone',
    source: `${listen}const relay = () => {\n  if (process.listenerCount('SIGTERM') > 1) return;\n  process.removeListener('SIGTERM', relay);\n  process.kill(process.pid, 'SIGTERM');\n};\nprocess.on('SIGTERM', relay);\n`,
    signal: 'SIGTERM',
    expected: { code: null, signal: 'SIGTERM' },
    stdout: 'listening\n',
  },
  {
    name: 'a server calling process.exit(7) on SIGTERM',
    source: `${listen}process.on('SIGTERM', () => process.exit(7));\n`,
    signal: 'SIGTERM',
    expected: { code: 7, signal: null },
    stdout: 'listening\n',
  },
  {
    name: 'an app whose work ends',
    source: "setTimeout(() => console.log('done'), 300);\n",
    expected: { code: 0, signal: null },
    stdout: 'done\n',
  },
  {
    name: 'an app that crashes',
    source: "setTimeout(() => { throw new Error('crash on purpose'); }, 300);\n",
    expected: { code: 1, signal: null },
    stdout: '',
  },
];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(dir: string, args: string[], env: Record<string, string> = {}): NodeRun {
  const run = runNode(dir, args, env);
  cleanups.push(() => run.stop());
  return run;
}

/**
 * Sends the app's signal once it listens (and, under the agent, once a beat arrived); resolves
 * with its exit. An agent holding the process open would leave it running into the test's timeout.
 */
async function endOf(run: NodeRun, signal: NodeJS.Signals | undefined, standIn?: StandIn): Promise<Exit> {
  if (signal === undefined) return run.exited;
  await vi.waitFor(
    () => {
      expect(run.stdout()).toContain('listening');
      if (standIn !== undefined) expect(standIn.beats().length).toBeGreaterThan(0);
    },
    { timeout: 10_000 },
  );
  run.child.kill(signal);
  return run.exited;
}

// The beat socket is the agent's default; HTTP is what it falls back to behind a proxy that refuses it.
describe.each([
  ['beating over the beat socket', true],
  ['beating over HTTP (the socket refused)', false],
])('shutdown, %s', (_transport, socket) => {
  beforeAll(() => requireBuilt());

  it.each(apps)(
    'ends $name as without the agent, saying goodbye first',
    async ({ source, signal, expected, stdout }) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vigil-exit-'));
      writeFileSync(path.join(dir, 'app.cjs'), source);
      const standIn = await backendStandIn(undefined, { socket });
      cleanups.push(standIn.close);

      // One after the other: the goodbye has a budget of ~200 ms, which two processes starting at
      // once on a small machine can eat by themselves.
      const bare = await endOf(start(dir, ['app.cjs']), signal);
      const run = start(dir, [...attach.cjs, 'app.cjs'], {
        VIGIL_BACKEND_URL: standIn.url,
        VIGIL_HEARTBEAT_INTERVAL: '5000',
      });
      const agent = { ...(await endOf(run, signal, standIn)), stdout: run.stdout(), stderr: run.stderr() };

      expect(bare).toMatchObject(expected);
      expect(agent).toMatchObject(expected);
      expect(agent.stdout).toBe(stdout);
      if (expected.code === 1) expect(agent.stderr).toContain('Error: crash on purpose');
      const beats = standIn.beats();
      expect(beats.at(-1)).toMatchObject({ kind: 'goodbye', instanceId: beats[0]?.instanceId });
      expect(standIn.events().map((event) => event.type)).toContain('agent.stopped');
    },
    20_000,
  );
});
