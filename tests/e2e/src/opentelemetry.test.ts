/**
 * The agent beside OpenTelemetry (issue 18): the real OpenTelemetry SDK and HTTP instrumentation
 * and the real agent in one service, loaded in either order, ESM and CommonJS. Whatever
 * OpenTelemetry traces without the agent it still traces with it, the agent's plugins (one on a
 * built-in, one on an npm package) still fire, and the agent's own traffic (beats, the beat
 * socket, event batches, the goodbye) makes no span.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EventList } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, startBackend, startProcess, waitFor, type Backend } from './harness.js';
import { nodeBinaries } from './node-binaries.js';

const require = createRequire(import.meta.url);
const agentRegister = require.resolve('@vigil/agent/register');
/** The folder holding every @opentelemetry package this workspace installed. */
const openTelemetryDir = dirname(dirname(require.resolve('@opentelemetry/sdk-trace-node/package.json')));
const nodeModulesDir = dirname(openTelemetryDir);

type ModuleSystem = 'esm' | 'cjs';
/** Who loads first, and how: both as flags of node, or both in NODE_OPTIONS. */
type LoadOrder = 'vigil, otel' | 'otel, vigil' | 'NODE_OPTIONS: vigil, otel';

/** What OpenTelemetry's span processor saw: every span when it started (so an unfinished one counts too). */
interface SpanLine {
  name: string;
  kind: number;
  url: string | undefined;
}

/** The fixed script: one outgoing request to the service itself (a client span and a server span) whose handler calls the package. */
function appSource(moduleSystem: ModuleSystem): string {
  const imports =
    moduleSystem === 'esm'
      ? `import http from 'node:http';\nimport { writeFileSync } from 'node:fs';\nimport { greet } from 'fake-greeter';\n`
      : `const http = require('node:http');\nconst { writeFileSync } = require('node:fs');\nconst { greet } = require('fake-greeter');\n`;
  return `${imports}
const server = http.createServer((req, res) => res.end(greet('visitor')));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const outgoing = http.request({ host: '127.0.0.1', port, path: '/hello' }, (res) => {
    let body = '';
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => {
      console.log('script done: ' + body);
      // The test says when: then the event loop runs dry and the agent says goodbye.
      process.stdin.once('data', () => { server.close(); process.stdin.destroy(); });
    });
  });
  outgoing.end();
});
process.on('exit', () => writeFileSync(process.env.FIRED_FILE, JSON.stringify(globalThis.__vigilFired ?? {})));
`;
}

/** OpenTelemetry's setup as its docs give it: for ESM, its import hook registered before the SDK starts. */
function openTelemetrySource(moduleSystem: ModuleSystem): string {
  const setup = `
const out = process.env.SPANS_FILE;
const processor = {
  onStart(span) {
    const url = span.attributes['url.full'] ?? span.attributes['http.url'] ?? span.attributes['url.path'] ?? span.attributes['http.target'];
    appendFileSync(out, JSON.stringify({ name: span.name, kind: span.kind, url }) + '\\n');
  },
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};
const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
`;
  return moduleSystem === 'esm'
    ? `import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
${setup}`
    : `const { appendFileSync } = require('node:fs');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
${setup}`;
}

/** A Vigil plugin counting the calls it intercepts: one target on a built-in, one on an npm package. */
const PLUGIN_SOURCE = `
const fired = (globalThis.__vigilFired ??= {});
const count = (key) => () => { fired[key] = (fired[key] ?? 0) + 1; };
module.exports = {
  interceptors: [
    { module: 'fake-greeter', versions: '^1.0.0', method: 'greet', before: count('fake-greeter.greet') },
    { module: 'http', method: 'request', before: count('http.request') },
  ],
};
`;

/** Writes the service, its fake package, OpenTelemetry's setup and the plugin in a temp dir. */
function writeService(moduleSystem: ModuleSystem, backendUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vigil-e2e-otel-${moduleSystem}-`));
  const greeter = join(dir, 'node_modules', 'fake-greeter');
  mkdirSync(greeter, { recursive: true });
  writeFileSync(
    join(greeter, 'package.json'),
    JSON.stringify({
      name: 'fake-greeter',
      version: '1.0.0',
      ...(moduleSystem === 'esm' ? { type: 'module', exports: './index.js' } : { main: 'index.js' }),
    }),
  );
  writeFileSync(
    join(greeter, 'index.js'),
    moduleSystem === 'esm' ? 'export function greet(name) { return `hello ${name}`; }\n' : 'exports.greet = (name) => `hello ${name}`;\n',
  );
  // The service finds OpenTelemetry in its node_modules, as an app that installed it does.
  symlinkSync(openTelemetryDir, join(dir, 'node_modules', '@opentelemetry'));
  const plugin = join(dir, 'plugins', 'counter');
  mkdirSync(plugin, { recursive: true });
  writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: 'counter', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(plugin, 'index.js'), PLUGIN_SOURCE);
  mkdirSync(join(dir, 'vigil'));
  writeFileSync(
    join(dir, 'vigil', 'config.properties'),
    [
      `service.name=otel-${moduleSystem}`,
      'app.name=e2e',
      'heartbeat.interval=500',
      `backend.url=${backendUrl}`,
      `plugins.dir=${join(dir, 'plugins')}`,
      'plugins=counter',
      '',
    ].join('\n'),
  );
  const ext = moduleSystem === 'esm' ? 'mjs' : 'cjs';
  writeFileSync(join(dir, `app.${ext}`), appSource(moduleSystem));
  writeFileSync(join(dir, `otel.${ext}`), openTelemetrySource(moduleSystem));
  return dir;
}

/**
 * Gives the service's OpenTelemetry a copy of import-in-the-middle of its own, as an install
 * whose versions do not dedupe has: its instrumentation packages are copied beside it, the
 * other @opentelemetry packages and their plain dependencies stay links.
 */
function giveOpenTelemetryItsOwnCopy(dir: string): void {
  const modules = join(dir, 'node_modules');
  rmSync(join(modules, '@opentelemetry'));
  mkdirSync(join(modules, '@opentelemetry'));
  for (const name of readdirSync(openTelemetryDir)) {
    const from = join(openTelemetryDir, name);
    const to = join(modules, '@opentelemetry', name);
    if (name === 'instrumentation' || name === 'instrumentation-http') cpSync(from, to, { recursive: true, dereference: true });
    else symlinkSync(from, to);
  }
  cpSync(join(nodeModulesDir, 'import-in-the-middle'), join(modules, 'import-in-the-middle'), { recursive: true, dereference: true });
  for (const name of ['require-in-the-middle', 'forwarded-parse', 'cjs-module-lexer', 'module-details-from-path']) {
    symlinkSync(join(nodeModulesDir, name), join(modules, name));
  }
}

interface Run {
  spans: SpanLine[];
  fired: Record<string, number>;
  output: string;
}

/**
 * Runs the script once on the `node` binary, with OpenTelemetry and (unless `order` is undefined)
 * the agent; the agent gets to beat, open its socket and send events first.
 */
async function runService(
  node: string,
  backend: Backend,
  moduleSystem: ModuleSystem,
  order: LoadOrder | undefined,
  ownCopy = false,
): Promise<Run> {
  const dir = writeService(moduleSystem, backend.url);
  if (ownCopy) giveOpenTelemetryItsOwnCopy(dir);
  const ext = moduleSystem === 'esm' ? 'mjs' : 'cjs';
  const flag = moduleSystem === 'esm' ? '--import' : '--require';
  const otel = [flag, `./otel.${ext}`];
  const vigil = [flag, agentRegister];
  const preload = order === undefined ? otel : order === 'otel, vigil' ? [...otel, ...vigil] : [...vigil, ...otel];
  const viaEnv = order?.startsWith('NODE_OPTIONS') === true;
  const env = {
    SPANS_FILE: join(dir, 'spans.jsonl'),
    FIRED_FILE: join(dir, 'fired.json'),
    ...(viaEnv && { NODE_OPTIONS: preload.join(' ') }),
  };
  writeFileSync(env.SPANS_FILE, '');
  const app = startProcess(node, [...(viaEnv ? [] : preload), `app.${ext}`], { cwd: dir, env });
  await waitFor(`the script to run (output: ${app.output()})`, () =>
    app.stdout().includes('script done: hello visitor') ? true : undefined,
  );
  if (order !== undefined) {
    const pid = app.child.pid ?? -1;
    const instance = await waitFor(`the agent to beat over its socket (output: ${app.output()})`, async () => {
      const found = await instanceOfPid(backend, pid);
      return found?.status === 'healthy' && (await beatSockets(backend)) === 1 ? found : undefined;
    });
    await waitFor('the agent to have sent its start event', async () =>
      (await agentEvents(backend, instance.instanceId)).includes('agent.started') ? true : undefined,
    );
    app.child.stdin?.write('stop\n');
    await app.exited;
    // The goodbye went out while OpenTelemetry was tracing: the instance is offline at once and its last event arrived.
    await waitFor('the goodbye', async () => ((await backend.instance(instance.instanceId))?.status === 'offline' ? true : undefined));
    await waitFor('the agent.stopped event', async () =>
      (await agentEvents(backend, instance.instanceId)).includes('agent.stopped') ? true : undefined,
    );
  } else {
    app.child.stdin?.write('stop\n');
    await app.exited;
  }
  const spans = readFileSync(env.SPANS_FILE, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SpanLine);
  const fired = JSON.parse(readFileSync(env.FIRED_FILE, 'utf8')) as Record<string, number>;
  return { spans, fired, output: app.output() };
}

async function beatSockets(backend: Backend): Promise<number> {
  const text = await (await fetch(`${backend.url}/metrics`)).text();
  const found = text.split('\n').find((line) => line.startsWith('vigil_beat_sockets '));
  return found === undefined ? 0 : Number(found.slice('vigil_beat_sockets '.length));
}

async function agentEvents(backend: Backend, instanceId: string): Promise<string[]> {
  const response = await fetch(`${backend.url}/api/v1/events?instanceId=${instanceId}&origin=agent&limit=1000`);
  return ((await response.json()) as EventList).events.map((event) => event.type);
}

/** Spans by name and kind, in a stable order, for comparing runs. */
function shape(spans: SpanLine[]): string[] {
  return spans.map((span) => `${span.kind} ${span.name}`).sort();
}

describe('the agent beside OpenTelemetry', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '60000' });
  });
  afterAll(() => killAll());

  // Every load order on the Node the tests run on; one per module system on the others, which
  // is where the loaders differ (CI time: each run costs ~1.5 s).
  const nodes = nodeBinaries();
  describe.each(nodes.map((node) => [node.version, node] as const))('on Node %s', (_version, node) => {
    const current = node.path === process.execPath;
    describe.each<ModuleSystem>(['esm', 'cjs'])('%s service', (moduleSystem) => {
      let without: Run;
      const orders: LoadOrder[] = current
        ? ['vigil, otel', 'otel, vigil', 'NODE_OPTIONS: vigil, otel']
        : [moduleSystem === 'esm' ? 'vigil, otel' : 'otel, vigil'];

      beforeAll(async () => {
        without = await runService(node.path, backend, moduleSystem, undefined);
      }, 60_000);

      it('traces the script without the agent: a client span and a server span', () => {
        // SpanKind: 1 = server, 2 = client.
        expect(shape(without.spans), without.output).toEqual(['1 GET', '2 GET']);
      });

      it.each(orders)(
        'loaded as %s: the same spans, every interceptor fires, no span of the agent',
        async (order) => {
          const run = await runService(node.path, backend, moduleSystem, order);
          expect(shape(run.spans), `${JSON.stringify(run.spans)}\n${run.output}`).toEqual(shape(without.spans));
          expect(run.spans.filter((span) => span.url?.includes('/api/v1/') === true)).toEqual([]);
          expect(run.fired, run.output).toEqual({ 'fake-greeter.greet': 1, 'http.request': 1 });
          expect(run.output).not.toMatch(/import-in-the-middle/);
        },
        60_000,
      );
    });
  });

  it('says in one line at start when OpenTelemetry brings its own import-in-the-middle, naming the fix; its spans stay as they were', async () => {
    const without = await runService(process.execPath, backend, 'esm', undefined, true);
    const run = await runService(process.execPath, backend, 'esm', 'otel, vigil', true);
    const lines = run.output.split('\n').filter((line) => line.includes('another copy of import-in-the-middle'));
    expect(lines, run.output).toHaveLength(1);
    expect(lines[0]).toMatch(/fix: one copy for both \(npm dedupe/);
    expect(shape(run.spans)).toEqual(shape(without.spans));
    expect(run.spans.filter((span) => span.url?.includes('/api/v1/') === true)).toEqual([]);
  }, 60_000);
});
