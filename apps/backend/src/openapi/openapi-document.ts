import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ROUTE_TABLE, TABLE_SCHEMAS } from './route-table.js';
import { componentSchemas } from './zod-api.js';

/** Where the document and its UI are served (keep docs/backend.md in step). */
export const OPENAPI_UI_PATH = 'api/docs';
export const OPENAPI_JSON_PATH = 'api/docs/openapi.json';
export const OPENAPI_YAML_PATH = 'api/docs/openapi.yaml';

/**
 * The OpenAPI document of the backend, generated from the routes: @nestjs/swagger reads every
 * Nest controller (its paths, path parameters, status codes and the zod schemas its decorators
 * attach: zod-api.ts), and the routes outside Nest's controllers come from one table
 * (route-table.ts). openapi.test.ts fails when a route the server answers is missing from it,
 * or when it documents a route the server does not answer.
 */
export function openApiDocument(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Vigil backend')
    .setVersion(version)
    .setDescription(
      'Heartbeats, instances, events, webhooks and plugin control, the Nacos v1 naming API (docs/nacos.md), health and metrics.',
    )
    // Without credentials configured, none is needed from loopback (protected mode, SECURITY.md).
    .addSecurity('apiToken', { type: 'http', scheme: 'bearer', description: 'One of VIGIL_API_TOKENS' })
    .addSecurity('session', { type: 'apiKey', in: 'cookie', name: 'vigil_session', description: 'Set by POST /api/v1/auth/login' })
    .addSecurity('agentToken', { type: 'http', scheme: 'bearer', description: 'One of VIGIL_AGENT_TOKENS (agent.token)' })
    .addSecurityRequirements('apiToken')
    .addSecurityRequirements('session')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  for (const route of ROUTE_TABLE) {
    const item = (document.paths[route.path] ??= {}) as Record<string, unknown>;
    if (item[route.method])
      throw new Error(`${route.method.toUpperCase()} ${route.path} is both a controller route and in the route table`);
    item[route.method] = route.operation;
  }
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...componentSchemas(), ...TABLE_SCHEMAS } as never,
  };
  return document;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/** Every operation of a document, as `METHOD /path/{param}`. */
export function documentedRoutes(document: Pick<OpenAPIObject, 'paths'>): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => (item as Record<string, unknown>)[method] !== undefined).map((method) => `${method.toUpperCase()} ${path}`),
  );
}
