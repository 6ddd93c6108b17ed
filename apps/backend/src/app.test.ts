import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { LIMITS } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { loadConfig } from './config/vigil-config.js';

/** The HTTP server's settings as a client meets them, through Fastify's router (`app.inject`). */

const apps: NestFastifyApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(env: NodeJS.ProcessEnv = {}): Promise<NestFastifyApplication> {
  const app = await createApp(loadConfig({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-app-')), VIGIL_LOG_LEVEL: 'fatal', ...env }));
  apps.push(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('route parameters', () => {
  it('looks up and commands an instance whose id and plugin name are as long as the protocol allows, percent-encoded', async () => {
    const app = await start();
    // Non-ASCII, so that the encoded path is longest: 9 characters per character of the id.
    const id = 'é'.repeat(LIMITS.idLength);
    const plugin = 'ü'.repeat(LIMITS.nameLength);
    const beat = {
      v: 1,
      kind: 'full',
      instanceId: id,
      heartbeatTime: Date.now(),
      lastHeartbeatTime: null,
      service: 'long-ids',
      appName: 'a',
      artifact: 'a',
      appType: 'default',
      hostName: 'h',
      ip: ['10.0.0.1'],
      processId: 1,
      dynamicInstall: false,
      version: '1.0.0',
      plugins: [{ name: plugin, version: '1.0.0', extInfo: {} }],
    };
    const registered = await app.inject({ method: 'PUT', url: '/api/v1/heartbeat', payload: beat });
    expect(registered.json()).toMatchObject({ result: 'registered' });

    const path = `/api/v1/instances/${encodeURIComponent(id)}`;
    const detail = await app.inject({ method: 'GET', url: path });
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json().instance.instanceId).toBe(id);
    for (const action of ['disable', 'enable']) {
      const command = await app.inject({ method: 'POST', url: `${path}/plugins/${encodeURIComponent(plugin)}/${action}` });
      expect(command.statusCode, command.body).toBe(202);
      expect(command.json().command).toMatchObject({ type: `plugin.${action}`, plugin });
    }
  });
});

describe('server timeouts', () => {
  it('gives every request VIGIL_HEADERS_TIMEOUT_MS for its head and VIGIL_REQUEST_TIMEOUT_MS in all', async () => {
    const app = await start({ VIGIL_HEADERS_TIMEOUT_MS: '2000', VIGIL_REQUEST_TIMEOUT_MS: '8000' });
    const server = app.getHttpServer();
    expect({ headers: server.headersTimeout, request: server.requestTimeout, keepAlive: server.keepAliveTimeout }).toEqual({
      headers: 2000,
      request: 8000,
      keepAlive: 65_000,
    });
    expect(loadConfig({}).http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  });

  it('refuses a head timeout longer than the request timeout, naming the key', () => {
    expect(() => loadConfig({ VIGIL_HEADERS_TIMEOUT_MS: '5000', VIGIL_REQUEST_TIMEOUT_MS: '1000' })).toThrow(
      /VIGIL_HEADERS_TIMEOUT_MS="5000": 5000 ms must be at most VIGIL_REQUEST_TIMEOUT_MS \(1000 ms\)/,
    );
    // The default head timeout (10 s) against a shorter request timeout: the message names the value in force.
    expect(() => loadConfig({ VIGIL_REQUEST_TIMEOUT_MS: '2000' })).toThrow(/10000 ms must be at most VIGIL_REQUEST_TIMEOUT_MS \(2000 ms\)/);
    expect(() => loadConfig({ VIGIL_REQUEST_TIMEOUT_MS: '0' })).toThrow(/VIGIL_REQUEST_TIMEOUT_MS="0": must be at least 100/);
  });
});
