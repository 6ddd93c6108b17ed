import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const plugin = fileURLToPath(new URL('../plugins/http-timing', import.meta.url));

/** Answers beats like the backend and keeps the ext-info of `http-timing` from every full beat. */
async function standIn(): Promise<{ url: string; extInfo: Record<string, string>[]; server: Server }> {
  const extInfo: Record<string, string>[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const beat = JSON.parse(body || '{}') as { kind?: string; plugins?: { name: string; extInfo: Record<string, string> }[] };
      const info = beat.plugins?.find((p) => p.name === 'http-timing')?.extInfo;
      if (info !== undefined) extInfo.push(info);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          req.url?.endsWith('/events')
            ? { accepted: 0 }
            : { result: beat.kind === 'light' ? 'renewed' : 'registered', serverTime: Date.now() },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, extInfo, server };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the http-timing plugin of bench:agent', () => {
  it('times every request once, from its request event to the end of its response, and reports count, mean and max', async () => {
    const backend = await standIn();
    cleanups.push(() => new Promise((resolve) => backend.server.close(resolve)));
    const dir = mkdtempSync(join(tmpdir(), 'vigil-http-timing-'));
    mkdirSync(join(dir, 'vigil', 'plugins'), { recursive: true });
    symlinkSync(plugin, join(dir, 'vigil', 'plugins', 'http-timing'));
    // `/slow` answers after 30 ms; `/twice` calls end() twice (the second is a no-op for node:http, and for the count).
    writeFileSync(
      join(dir, 'app.mjs'),
      [
        "import { createServer } from 'node:http';",
        'const server = createServer((req, res) => {',
        "  if (req.url === '/slow') return setTimeout(() => res.end('slow'), 30);",
        "  res.end('ok');",
        "  if (req.url === '/twice') res.end();",
        '});',
        "server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));",
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(process.execPath, ['--import', require.resolve('@vigil/agent/register'), 'app.mjs'], {
      cwd: dir,
      env: {
        ...process.env,
        VIGIL_BACKEND_URL: backend.url,
        VIGIL_PLUGINS: 'http-timing',
        VIGIL_HEARTBEAT_INTERVAL: '200',
        VIGIL_HEARTBEAT_TRANSPORT: 'http',
        VIGIL_SERVICE_NAME: 'http-timing-test',
      },
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect.poll(() => output, { timeout: 10_000 }).toMatch(/listening \d+/);
    const port = /listening (\d+)/.exec(output)?.[1];

    const paths = [...Array<string>(10).fill('/'), '/twice', '/twice', '/slow'];
    for (const path of paths) await (await fetch(`http://127.0.0.1:${port}${path}`)).text();

    // Full beats carry ext-info; it changed, so the next beat is a full one with all 13 requests.
    await expect.poll(() => backend.extInfo.at(-1)?.requests, { timeout: 10_000 }).toBe(String(paths.length));
    const windows = backend.extInfo.filter((info) => Number(info.meanMs) > 0);
    // The 30 ms request falls in one report window: its max covers it, and its mean is above 30 / 13.
    const slow = windows.find((info) => Number(info.maxMs) >= 29);
    expect(slow, JSON.stringify(backend.extInfo)).toBeDefined();
    expect(Number(slow?.meanMs)).toBeGreaterThan(30 / paths.length);
    expect(Number(slow?.meanMs)).toBeLessThanOrEqual(Number(slow?.maxMs));
  }, 30_000);
});
