import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { InstanceAdmission } from '../instances/instance-admission.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { FLEET_STORE, type FleetStore, type StoreHealth } from '../store/fleet-store.js';
import { Operation, Responses } from '../openapi/zod-api.js';
import { MetricsService } from './metrics.service.js';

/** Liveness, readiness and Prometheus metrics. */
@ApiTags('Ops')
@Controller()
export class OpsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: InstanceRegistry,
    @Inject(FLEET_STORE) private readonly store: FleetStore,
    private readonly admission: InstanceAdmission,
  ) {}

  /** The process is up and its event loop turns. */
  @Get('healthz')
  @Operation('Liveness: the process is up', { open: true })
  @Responses({ 200: '`{ status: "ok" }`' })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready to take beats; says when self-preservation is holding expiries, and `degraded` (still
   * 200: beats are answered and kept in memory) while the shared store cannot be reached.
   * `instanceLimit.full`: new instances are refused (VIGIL_MAX_INSTANCES); still ready and 200,
   * since a load balancer taking a full replica out would drop the beats of every instance it
   * holds and make them go lost.
   */
  @Get('readyz')
  @Operation('Readiness: ready to take beats (still 200 while degraded or full)', { open: true })
  @Responses({ 200: '`{ status: "ready" | "degraded", instances, instanceLimit: { max, full }, selfPreservation, store, connected }`' })
  readyz(): {
    status: 'ready' | 'degraded';
    instances: number;
    instanceLimit: { max: number; full: boolean };
    selfPreservation: boolean;
  } & StoreHealth {
    const store = this.store.health();
    return {
      status: store.connected ? 'ready' : 'degraded',
      instances: this.registry.size,
      instanceLimit: { max: this.admission.maxInstances, full: this.admission.isFull },
      selfPreservation: this.registry.selfPreserving,
      ...store,
    };
  }

  @Get('metrics')
  @Operation('Prometheus metrics')
  @ApiProduces('text/plain')
  @Responses({ 200: 'Prometheus text format' })
  @Header('cache-control', 'no-store')
  async prometheus(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    await reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}
