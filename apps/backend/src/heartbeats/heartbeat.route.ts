import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { HEARTBEAT_PATH, LIMITS } from '@vigil/protocol';
import { BeatHandler } from './beat-handler.js';

/**
 * `PUT /api/v1/heartbeat`: the hot path, every agent that cannot keep the beat socket open hits
 * it every interval. It is a route on Nest's underlying Fastify instance rather than a Nest
 * controller, because Nest's per-request pipeline (guards, interceptors, pipes, exception zones)
 * costs about a fifth of the throughput here (see ../shared/TOOLCHAIN.md) and the beat needs
 * none of it.
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(BeatHandler) private readonly beats: BeatHandler,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.put(HEARTBEAT_PATH, { bodyLimit: LIMITS.beatBodyBytes }, async (request, reply) => {
      const { status, body } = this.beats.handle(request.body);
      return status === 200 ? body : reply.code(status).send(body);
    });
  }
}
