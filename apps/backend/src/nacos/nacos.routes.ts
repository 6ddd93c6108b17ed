import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import type { Logger } from 'pino';
import { AccessControl, bearerToken, redactUrl } from '../access/access-control.js';
import { inScope } from '../access/access.hooks.js';
import type { AgentScope } from '../access/credentials.js';
import { isRelayed } from '../access/trusted-address.js';
import type { Client } from '../instances/instance-admission.js';
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
import { ProbePolicy, type RegistrationPeer } from './probe-policy.js';

/** How long a Nacos login's token is said to last: the token is an agent token, valid until removed from config. */
const NACOS_TOKEN_TTL_S = 18_000;

/** Where Nacos clients find the naming API (`/nacos` is Nacos's default context path). */
export const NACOS_NAMING_PATH = '/nacos/v1/ns';

/** Nacos's login, newer and older path: `username` and `password` in, `{ accessToken, tokenTtl }` out. */
export const NACOS_LOGIN_PATHS = ['/nacos/v1/auth/users/login', '/nacos/v1/auth/login'];

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
    private readonly adapterHost: HttpAdapterHost,
    private readonly naming: NacosNamingService,
    private readonly access: AccessControl,
    private readonly probes: ProbePolicy,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.log = createLogger(config.logLevel).child({ component: 'nacos' });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    /**
     * `scope`: the token's reach, undefined for an unscoped token or none needed; `client`: whom
     * quotas count against (the agent token, or the address without one).
     */
    type Answer = (params: NacosParams, scope: AgentScope | undefined, request: FastifyRequest, client: Client) => string | object;
    const route = (method: HTTPMethods, path: string, answer: Answer, url = `${NACOS_NAMING_PATH}${path}`) =>
      fastify.route({
        method,
        url,
        handler: (request, reply) => {
          try {
            const params = readParams(request.query, request.body);
            const scope = url.startsWith(NACOS_NAMING_PATH) ? this.authorize(params, request.headers) : undefined;
            // Quotas count per agent token, or per address without one.
            const result = answer(params, scope, request, scope ?? request.socket.remoteAddress ?? '');
            if (typeof result === 'string') reply.type(TEXT);
            reply.send(result);
          } catch (error) {
            const status = error instanceof NacosError ? error.status : 500;
            if (status === 500) this.log.error({ err: error, url: redactUrl(request.url) }, 'nacos request failed');
            const message = error instanceof Error ? error.message : String(error);
            // Nacos's exception handler answers `caused: <message>;` as text.
            reply.code(status).type(TEXT).send(`caused: ${message};`);
          }
        },
      });

    // Nacos clients configured with a username and password log in first; the password is an agent token.
    const login = (params: NacosParams) => {
      const token = params.get('password');
      if (this.access.checkNacos(token) === 'token invalid!' || (token === undefined && !this.access.agentsProtected)) {
        throw new NacosError(403, 'unknown user!');
      }
      return { accessToken: token ?? '', tokenTtl: NACOS_TOKEN_TTL_S, globalAdmin: false };
    };
    for (const path of NACOS_LOGIN_PATHS) route('POST', '', login, path);
    route('POST', '/instance', (params, _scope, request, client) => {
      const spec = registration(params);
      this.probes.admit(spec, peerOf(request));
      this.naming.register(spec, client);
      return 'ok';
    });
    route('DELETE', '/instance', (params) => {
      this.naming.deregister(instanceAddress(params));
      return 'ok';
    });
    route('GET', '/instance', (params) => this.naming.detail(instanceAddress(params)));
    route('PUT', '/instance/beat', (params, _scope, request, client) => {
      const beat = beatRequest(params);
      // A full beat may register a persistent instance: the same rules as a registration.
      if (beat.register?.ephemeral === false) this.probes.admit(beat.register, peerOf(request));
      return this.naming.beat(beat, client);
    });
    route('GET', '/instance/list', (params) => this.naming.list(listQuery(params)));
    route('GET', '/service/list', (params, scope) => this.naming.services(servicePage(params), scope));
    // Fleet-wide counts and the host's load are not a scoped token's to read; the status
    // (what Nacos clients' server health check reads) is.
    route('GET', '/operator/metrics', (params, scope) => this.naming.metrics(metricsQuery(params).onlyStatus || !!scope?.servicePrefix));
  }

  /**
   * With agent tokens configured, every call carries one as Nacos's `accessToken` parameter (or a
   * bearer header), and a token bound to a prefix reaches only services whose name starts with it.
   * Without tokens the access hook has already limited Nacos clients to loopback. Answers the
   * token's scope (undefined without tokens or for an unscoped token).
   */
  private authorize(params: NacosParams, headers: IncomingHttpHeaders): AgentScope | undefined {
    const verdict = this.access.checkNacos(params.get('accessToken')?.trim() || bearerToken(headers));
    if (verdict === null) return undefined;
    if (typeof verdict === 'string') throw new NacosError(403, verdict);
    const service = params.get('serviceName');
    const split = service?.indexOf('@@') ?? -1;
    if (service !== undefined && !inScope(verdict, split >= 0 ? service.slice(split + 2) : service)) {
      throw new NacosError(403, `service '${service}' is outside this token's services`);
    }
    return verdict;
  }
}

function peerOf(request: FastifyRequest): RegistrationPeer {
  return { address: request.socket.remoteAddress, relayed: isRelayed(request.headers) };
}
