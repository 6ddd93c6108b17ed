import { Module } from '@nestjs/common';
import { RegistryModule } from '../instances/registry.module.js';
import { probe } from './health-probes.js';
import { NacosNamingService } from './nacos-naming.service.js';
import { NacosRoutes } from './nacos.routes.js';
import { NacosServiceIndex } from './nacos-service-index.js';
import { PROBER, ProbeLoop } from './probe-loop.js';
import { ProbePolicy } from './probe-policy.js';
import { ProbeTargetIndex } from './probe-target-index.js';

/** Nacos v1 naming API (docs/nacos.md): its instances live in the shared registry, persistent ones are probed. */
@Module({
  imports: [RegistryModule],
  providers: [
    NacosServiceIndex,
    ProbeTargetIndex,
    ProbePolicy,
    NacosNamingService,
    NacosRoutes,
    { provide: PROBER, useValue: probe },
    ProbeLoop,
  ],
})
export class NacosModule {}
