import { Module } from '@nestjs/common';
import { RegistryModule } from '../instances/registry.module.js';
import { probe } from './health-probes.js';
import { NacosNamingService } from './nacos-naming.service.js';
import { NacosRoutes } from './nacos.routes.js';
import { NacosServiceIndex } from './nacos-service-index.js';
import { PROBER, ProbeLoop } from './probe-loop.js';

/** Nacos v1 naming API (docs/nacos.md): its instances live in the shared registry, persistent ones are probed. */
@Module({
  imports: [RegistryModule],
  providers: [NacosServiceIndex, NacosNamingService, NacosRoutes, { provide: PROBER, useValue: probe }, ProbeLoop],
})
export class NacosModule {}
