import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LIMITS } from '@vigil/protocol';
import { LogController } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { ClientAbortFilter } from './common/client-abort.filter.js';
import { createLogger } from './logger.js';
import { PinoNestLogger } from './nest-logger.js';
import { BeatServer } from './heartbeats/beat-server.js';
import { HeartbeatRoute } from './heartbeats/heartbeat.route.js';
import type { Clock } from './common/clock.js';
import type { VigilConfig } from './config/vigil-config.js';
import { SwaggerModule } from '@nestjs/swagger';
import { findDashboardAssets } from './dashboard/dashboard-assets.js';
import { routeBodyLimits } from './common/route-body-limit.js';
import { OPENAPI_JSON_PATH, OPENAPI_UI_PATH, OPENAPI_YAML_PATH, openApiDocument } from './openapi/openapi-document.js';
import { backendVersion } from './version.js';

/**
 * Route parameters (instance ids, plugin names) as long as the protocol lets them be, even
 * percent-encoded: a character of a JavaScript string is at most 3 UTF-8 bytes, `%XX` each.
 */
const MAX_PARAM_LENGTH = Math.max(LIMITS.idLength, LIMITS.nameLength) * 9;

/** Fastify's lines about requests, less "incoming request" and "request completed" for each. */
class QuietRequests extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(): void {}
}

/** Builds the backend application (not listening yet): used by main and by tests. */
export async function createApp(
  config: VigilConfig,
  clock?: Clock,
  log: Logger = createLogger(config.logLevel),
): Promise<NestFastifyApplication> {
  // The node:http(s) server is made here rather than by Fastify, so that `PUT /api/v1/heartbeat`
  // is served before Fastify's pipeline (heartbeats/beat-server.ts, heartbeat.route.ts).
  const server = new BeatServer(config.http);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, clock),
    new FastifyAdapter({
      keepAliveTimeout: 65_000,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      // Fastify's own lines (client errors, listening) through the one logger, without a line
      // per request nor a child logger made for each.
      loggerInstance: log.child({ component: 'fastify' }),
      childLoggerFactory: (logger) => logger,
      logController: new QuietRequests(),
      serverFactory: server.serverFactory,
      ...(config.access.tls && { https: config.access.tls }),
    }),
    { logger: new PinoNestLogger(log) },
  );
  app.useGlobalFilters(new ClientAbortFilter(app.getHttpAdapter(), log));
  // Before `init` registers the controllers' routes.
  app.getHttpAdapter().getInstance().addHook('onRoute', routeBodyLimits);
  server.attach(app.get(HeartbeatRoute));
  // OpenAPI UI at /api/docs, the document at /api/docs/openapi.json, generated from the routes
  // when first asked for.
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => openApiDocument(app, backendVersion()), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    yamlDocumentUrl: OPENAPI_YAML_PATH,
  });
  const assets = findDashboardAssets();
  if (assets) app.useStaticAssets({ root: assets, prefix: '/' });
  app.enableShutdownHooks();
  return app;
}
