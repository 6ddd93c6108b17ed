import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HEARTBEAT_PATH, LIMITS } from '@vigil/protocol';
import { MetricsService } from '../ops/metrics.service.js';
import { BeatHandler } from './beat-handler.js';

/**
 * `PUT /api/v1/heartbeat`: the hot path for every agent that cannot keep the beat socket open
 * (and for plain HTTP clients). It is a route on Nest's underlying Fastify instance rather than
 * a Nest controller, because Nest's per-request pipeline (guards, interceptors, pipes, exception
 * zones) costs about a fifth of the throughput here (see ../shared/TOOLCHAIN.md) and the beat
 * needs none of it. The access hook has already checked the agent token (`request.agentScope`).
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(BeatHandler) private readonly beats: BeatHandler,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      this.metrics.beatRejected();
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply.code(413).send({ error: 'heartbeat too large', issues: [`(body): at most ${LIMITS.beatBodyBytes} bytes (LIMITS.beatBodyBytes)`] });
      }
      // Malformed JSON, a wrong content type: Fastify's own 4xx, with its message.
      return reply.code(error.statusCode && error.statusCode < 500 ? error.statusCode : 500).send({ error: 'invalid heartbeat', issues: [`(body): ${error.message}`] });
    };
    fastify.put(HEARTBEAT_PATH, { bodyLimit: LIMITS.beatBodyBytes, errorHandler }, async (request, reply) => {
      const { status, body } = this.beats.handle(request.body, request.agentScope);
      return status === 200 ? body : reply.code(status).send(body);
    });
  }
}
