import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { MetricsService } from './metrics.service.js';

/** Liveness, readiness and Prometheus metrics. */
@Controller()
export class OpsController {
  constructor(
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
  ) {}

  /** The process is up and its event loop turns. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to take beats; says when self-preservation is holding expiries. */
  @Get('readyz')
  readyz(): { status: 'ready'; instances: number; selfPreservation: boolean } {
    return { status: 'ready', instances: this.registry.size, selfPreservation: this.registry.selfPreserving };
  }

  @Get('metrics')
  @Header('cache-control', 'no-store')
  async prometheus(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    await reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}
