import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceOfPid, killAll, repoRoot, startBackend, startProcess, waitFor, type Backend } from './harness.js';
import { nodeBinaries } from './node-binaries.js';

const require = createRequire(import.meta.url);

/** Writes files under `dir`, creating folders as needed. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

/**
 * A service as a user has it: its own package.json and node_modules in a temp dir outside the
 * workspace, with the agent installed from the one tarball `npm run pack:agent` makes, an ES module
 * plugin installed as a package, and a CommonJS plugin in a folder of vigil/plugins.
 */
function makeService(tarball: string, backendUrl: string): string {
  const project = mkdtempSync(join(tmpdir(), 'vigil-pkg-'));
  writeTree(project, {
    'package.json': JSON.stringify({ name: 'shop', version: '1.0.0', private: true }),
    // The plugin package as its author publishes it: ESM, built against this agent's major.
    'plugin-src/package.json': JSON.stringify({
      name: 'vigil-plugin-hello',
      version: '1.0.0',
      type: 'module',
      exports: './index.js',
      peerDependencies: { '@vigil/agent': '>=0.1.0 <1' },
    }),
    'plugin-src/index.js': [
      "import { definePlugin, HeartbeatService, ServiceManager } from '@vigil/agent';",
      'const heartbeat = ServiceManager.getService(HeartbeatService);',
      "heartbeat.setExtInfo(() => ({ node: process.version, kind: 'esm package' }));",
      'export default definePlugin({});',
      '',
    ].join('\n'),
    'vigil/plugins/greeter/package.json': JSON.stringify({ name: 'greeter', version: '2.0.0' }),
    'vigil/plugins/greeter/index.js': [
      "const { definePlugin, HeartbeatService, ServiceManager } = require('@vigil/agent');",
      'const heartbeat = ServiceManager.getService(HeartbeatService);',
      "heartbeat.setExtInfo(() => ({ kind: 'cjs folder' }));",
      'module.exports = definePlugin({});',
      '',
    ].join('\n'),
    'vigil/config.properties': [
      'service.name=e2e-package',
      'heartbeat.interval=300',
      `backend.url=${backendUrl}`,
      'plugins=greeter,vigil-plugin-hello',
      '',
    ].join('\n'),
    'app.mjs': "import { createServer } from 'node:http';\ncreateServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');\n",
    'app.cjs': "const { createServer } = require('node:http');\ncreateServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');\n",
    // A TypeScript user of each module system, type-checked against the installed package alone.
    'types/esm.mts':
      "import { definePlugin, ServiceManager, HeartbeatService } from '@vigil/agent';\nServiceManager.getService(HeartbeatService).setExtInfo(() => ({ a: '1' }));\nexport default definePlugin({ interceptors: [{ module: 'http', method: 'get' }] });\n",
    'types/cjs.cts':
      "import agent = require('@vigil/agent');\nexport = agent.definePlugin({ interceptors: [{ module: 'http', method: 'get' }] });\n",
  });
  // --install-links copies the plugin in as a real package, as `npm install vigil-plugin-hello` would.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--install-links', tarball, './plugin-src'], {
    cwd: project,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return project;
}

describe('the agent as one npm package, in a service of its own', () => {
  let backend: Backend;
  let project: string;

  beforeAll(async () => {
    backend = await startBackend();
    const packed = execFileSync(
      process.execPath,
      [join(repoRoot, 'scripts', 'pack-agent.mjs'), mkdtempSync(join(tmpdir(), 'vigil-tarball-'))],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const tarball = packed.trim().split('\n').at(-1) ?? '';
    project = makeService(tarball, backend.url);
  }, 180_000);
  afterAll(() => killAll());

  it('installs alone: the agent and its real dependencies, no @vigil/protocol, no zod, no ws (the beat socket has its own client)', () => {
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const installed = Object.keys(lock.packages).map((location) => location.replace(/^.*node_modules\//, ''));
    expect(installed).toEqual(expect.arrayContaining(['@vigil/agent', 'vigil-plugin-hello', 'pino']));
    expect(installed).not.toContain('ws');
    expect(installed.filter((name) => name.startsWith('@vigil/') || name === 'zod')).toEqual(['@vigil/agent']);
  });

  it('gives TypeScript users of ES modules and of CommonJS its types', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    // No @types/node in the project: the agent's public types must not need it.
    const options = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
    expect(() =>
      execFileSync(process.execPath, [tsc, ...options, 'types/esm.mts', 'types/cjs.cts'], { cwd: project, encoding: 'utf8' }),
    ).not.toThrow();
  });

  describe.each(nodeBinaries().map((node) => [node.version, node] as const))('on Node %s', (version, node) => {
    it.each([
      ['--import', { args: ['--import', '@vigil/agent/register', 'app.mjs'], env: {} }],
      ['--require', { args: ['--require', '@vigil/agent/register', 'app.cjs'], env: {} }],
      ['NODE_OPTIONS', { args: ['app.mjs'], env: { NODE_OPTIONS: '--import @vigil/agent/register' } }],
    ] as const)('attaches with %s and loads the package plugin and the folder plugin, ext-info and all', async (_how, { args, env }) => {
      const app = startProcess(node.path, [...args], { cwd: project, env });
      const pid = app.child.pid ?? -1;
      const instance = await waitFor(
        `the instance of pid ${pid} with both plugins' ext-info (output: ${app.output()})`,
        async () => {
          const found = await instanceOfPid(backend, pid);
          return found?.plugins.some((plugin) => plugin.extInfo?.node !== undefined) ? found : undefined;
        },
        20_000,
      );
      expect(instance.plugins).toEqual(
        expect.arrayContaining([
          { name: 'greeter', version: '2.0.0', extInfo: { kind: 'cjs folder' } },
          { name: 'vigil-plugin-hello', version: '1.0.0', extInfo: { node: version, kind: 'esm package' } },
        ]),
      );
      expect(app.output()).not.toMatch(/skipped|failed to start/);
      app.child.kill('SIGTERM');
      await app.exited;
    });
  });
});
