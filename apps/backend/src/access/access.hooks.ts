import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';
import { CLOCK, type Clock } from '../common/clock.js';
import type { AgentScope } from './credentials.js';
import { AccessControl, audienceOf } from './access-control.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the access hook on agent requests made with a token: the services it may speak for. */
    agentScope?: AgentScope;
  }
}

/** Whether a service name is within an agent token's reach. */
export function inScope(scope: AgentScope | undefined, service: string): boolean {
  return scope === undefined || service.startsWith(scope.servicePrefix);
}

/**
 * Enforces AccessControl on every HTTP request Fastify serves (one `onRequest` hook on the
 * Fastify instance, so Nest controllers, the Nacos routes, static files and 404s alike) and on
 * socket.io's handshake, which engine.io serves before Fastify sees it. The beat PUT that
 * heartbeats/heartbeat.route.ts serves before Fastify calls the same `AccessControl.check` with
 * the agent audience; the beat socket's upgrade calls `checkAgentSocket`.
 */
@Injectable()
export class AccessHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly access: AccessControl,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request: FastifyRequest, reply, done) => {
      const verdict = this.access.check(
        audienceOf(request.method, request.routeOptions.url),
        { method: request.method, address: request.socket.remoteAddress, headers: request.headers },
        this.clock.now(),
      );
      if (verdict.allow) {
        if (verdict.scope) request.agentScope = verdict.scope;
        return done();
      }
      if (verdict.status === 401) reply.header('www-authenticate', 'Bearer realm="vigil"');
      reply.code(verdict.status).send(verdict.body);
    });
  }

  /** Refuses socket.io handshakes the console rules refuse, or sent from another site, with the reason (403). */
  guardSocketServer(server: Server): void {
    server.engine.opts.allowRequest = (request: IncomingMessage, callback) => {
      const verdict = this.access.checkSocket(
        { method: request.method ?? 'GET', address: request.socket.remoteAddress, headers: request.headers },
        this.clock.now(),
      );
      if (verdict.allow) callback(null, true);
      else callback(`${verdict.body.error}: ${verdict.body.message}`, false);
    };
  }
}
