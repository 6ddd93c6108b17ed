import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createApp } from '../app.js';
import { loadConfig } from '../config/vigil-config.js';
import { findDashboardAssets } from '../dashboard/dashboard-assets.js';
import { documentedRoutes } from './openapi-document.js';
import { NOT_API, ROUTE_TABLE, isNotApi, type Transport } from './route-table.js';

/**
 * The drift test: the OpenAPI document the backend serves against the routes it answers. Every
 * route Fastify has registered (read from its router, `printRoutes`) and every route the route
 * table says is served beside Fastify (each reached over a real connection) must be in the
 * document, and every route in the document must be one of those.
 */

let app: NestFastifyApplication;
let base: string;
let document: OpenAPIObject;

beforeAll(async () => {
  app = await createApp(loadConfig({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-openapi-')), VIGIL_LOG_LEVEL: 'fatal' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const answer = await app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
  expect(answer.statusCode).toBe(200);
  document = answer.json();
});
afterAll(() => app?.close());

/** `METHOD /path`, path parameters as OpenAPI writes them (`:id` -> `{id}`). */
const key = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`;

/**
 * Every route in Fastify's router, from `printRoutes({ commonPrefix: false })`: a tree with one
 * node a line, each indented four characters a level under its parent, its path the parent's
 * plus its own segment, and its methods in brackets. HEAD routes Fastify adds beside each GET
 * (`exposeHeadRoutes`) are left out.
 */
function fastifyRoutes(): string[] {
  const tree = app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes = new Set<string>();
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    const methods = match[3]?.split(', ') ?? [];
    for (const method of methods)
      if (method !== 'HEAD' || !methods.includes('GET')) routes.add(key(method, path.startsWith('/') ? path : `/${path}`));
  }
  return [...routes];
}

/** Whether a route served beside Fastify answers: an upgrade for the beat socket, a polling handshake for socket.io. */
const reach: Record<Exclude<Transport, 'fastify'>, (path: string) => Promise<boolean>> = {
  'beat-socket': (path) =>
    new Promise((resolve) => {
      const socket = new WebSocket(`ws://${base}${path}`);
      socket.once('open', () => {
        socket.close();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    }),
  'socket.io': async (path) => (await fetch(`http://${base}${path}?EIO=4&transport=polling`)).status === 200,
};

describe('the OpenAPI document', () => {
  it('documents every route the server answers, and no route it does not', async () => {
    const registered = fastifyRoutes();
    // The parse found the router's routes: one of each kind.
    expect(registered).toEqual(
      expect.arrayContaining([
        'PUT /api/v1/heartbeat',
        'POST /api/v1/instances/{id}/plugins/{plugin}/disable',
        'GET /healthz',
        'DELETE /nacos/v1/ns/instance',
        'POST /api/v1/auth/login',
      ]),
    );
    // Routes served beside Fastify count as served when they answer.
    const beside: string[] = [];
    for (const route of ROUTE_TABLE)
      if (route.transport !== 'fastify' && (await reach[route.transport](route.path))) beside.push(key(route.method, route.path));
    const served = new Set([...registered.filter((route) => !isNotApi(route.slice(route.indexOf(' ') + 1))), ...beside]);
    const documented = new Set(documentedRoutes(document));

    expect({
      missingFromTheDocument: [...served].filter((route) => !documented.has(route)),
      documentedButNotServed: [...documented].filter((route) => !served.has(route)),
    }).toEqual({ missingFromTheDocument: [], documentedButNotServed: [] });
    expect(documented.size).toBeGreaterThanOrEqual(31);
  });

  it('leaves out only routes that exist and are not the API: the document, its UI and the dashboard files', () => {
    const paths = new Set(fastifyRoutes().map((route) => route.slice(route.indexOf(' ') + 1)));
    for (const entry of NOT_API) {
      if (entry.whenBuilt && !findDashboardAssets()) continue;
      expect(paths.has(entry.path), `${entry.path} (${entry.why}) is a route`).toBe(true);
    }
  });

  it('describes each operation, and every schema it refers to is in the document', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((name) => !document.components?.schemas?.[name])).toEqual([]);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, { summary?: string; responses?: Record<string, unknown> }>)) {
        if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
        expect(operation.summary, `${method} ${path} has a summary`).toMatch(/\w/);
        expect(Object.keys(operation.responses ?? {}).length, `${method} ${path} has its answers`).toBeGreaterThan(0);
      }
    }
  });

  it('shows the schemas the routes validate with: a login body is a password of 1 to 1024 characters, instance queries as parameters', () => {
    const login = document.paths['/api/v1/auth/login']?.post as {
      requestBody: { content: Record<string, { schema: unknown }> };
      security: unknown[];
    };
    expect(login.requestBody.content['application/json']!.schema).toMatchObject({
      type: 'object',
      properties: { password: { type: 'string', minLength: 1, maxLength: 1024 } },
      required: ['password'],
    });
    expect(login.security).toEqual([]);
    const list = document.paths['/api/v1/instances']?.get as { parameters: { name: string; in: string; required: boolean }[] };
    expect(list.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['query:service', 'query:status', 'query:sort', 'query:limit']),
    );
    expect(list.parameters.every((p) => !p.required)).toBe(true);
    const webhook = document.paths['/api/v1/webhooks']?.post as { requestBody: { content: Record<string, { schema: { $ref: string } }> } };
    expect(webhook.requestBody.content['application/json']!.schema.$ref).toBe('#/components/schemas/WebhookInput');
    expect(document.components?.schemas?.WebhookInput).toMatchObject({ properties: { url: { type: 'string' } } });
  });
});
