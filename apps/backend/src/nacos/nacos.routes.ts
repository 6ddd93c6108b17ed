import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { Logger } from 'pino';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { createLogger } from '../logger.js';
import { NacosNamingService } from './nacos-naming.service.js';
import {
  NacosError,
  beatRequest,
  instanceAddress,
  listQuery,
  metricsQuery,
  readParams,
  registration,
  servicePage,
  type NacosParams,
} from './nacos-params.js';

/** Where Nacos clients find the naming API (`/nacos` is Nacos's default context path). */
export const NACOS_NAMING_PATH = '/nacos/v1/ns';

const TEXT = 'text/plain; charset=utf-8';

/**
 * The Nacos v1 naming API on the backend's port. Like the agent beat route, these are routes on
 * Nest's underlying Fastify instance rather than a Nest controller: every Nacos client beats
 * every 5 s and polls its services every 3 s, and none of Nest's per-request pipeline is needed.
 * Parameters come from the query string or a form body (Nest's Fastify adapter parses
 * `application/x-www-form-urlencoded`); answers are Nacos's: text `ok`, JSON, or text errors.
 */
@Injectable()
export class NacosRoutes implements OnModuleInit {
  private readonly log: Logger;

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(NacosNamingService) private readonly naming: NacosNamingService,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.log = createLogger(config.logLevel).child({ component: 'nacos' });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const route = (method: HTTPMethods, path: string, answer: (params: NacosParams) => string | object) =>
      fastify.route({
        method,
        url: `${NACOS_NAMING_PATH}${path}`,
        handler: (request, reply) => {
          try {
            const result = answer(readParams(request.query, request.body));
            if (typeof result === 'string') reply.type(TEXT);
            reply.send(result);
          } catch (error) {
            const status = error instanceof NacosError ? error.status : 500;
            if (status === 500) this.log.error({ err: error, url: request.url }, 'nacos request failed');
            const message = error instanceof Error ? error.message : String(error);
            // Nacos's exception handler answers `caused: <message>;` as text.
            reply.code(status).type(TEXT).send(`caused: ${message};`);
          }
        },
      });

    route('POST', '/instance', (params) => {
      this.naming.register(registration(params));
      return 'ok';
    });
    route('DELETE', '/instance', (params) => {
      this.naming.deregister(instanceAddress(params));
      return 'ok';
    });
    route('GET', '/instance', (params) => this.naming.detail(instanceAddress(params)));
    route('PUT', '/instance/beat', (params) => this.naming.beat(beatRequest(params)));
    route('GET', '/instance/list', (params) => this.naming.list(listQuery(params)));
    route('GET', '/service/list', (params) => this.naming.services(servicePage(params)));
    route('GET', '/operator/metrics', (params) => this.naming.metrics(metricsQuery(params).onlyStatus));
  }
}
