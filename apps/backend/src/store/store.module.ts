import { Module } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsModule } from '../events/events.module.js';
import { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { PluginCommandQueue } from '../instances/plugin-commands.js';
import { LEASE_TICK_MS, RegistryModule, STALL_THRESHOLD_MS } from '../instances/registry.module.js';
import { createLogger } from '../logger.js';
import { FLEET_STORE, MemoryFleetStore, type FleetStore } from './fleet-store.js';
import { RedisFleetStore } from './redis-fleet.js';

/** The store the fleet lives in, chosen by `VIGIL_STORE` (ticked by ../leases/leases.module.ts). */
@Module({
  imports: [RegistryModule, EventsModule],
  providers: [
    {
      provide: FLEET_STORE,
      inject: [VIGIL_CONFIG, InstanceRegistry, EventsService, PluginCommandQueue, CLOCK],
      useFactory: (
        config: VigilConfig,
        registry: InstanceRegistry,
        events: EventsService,
        commands: PluginCommandQueue,
        clock: Clock,
      ): FleetStore =>
        config.store.kind === 'redis'
          ? new RedisFleetStore(registry, events, commands, clock, {
              target: config.store,
              prefix: config.store.prefix,
              eventsMax: config.events.max,
              eventsMaxBytes: config.eventsMaxBytes,
              tickMs: LEASE_TICK_MS,
              stallThresholdMs: STALL_THRESHOLD_MS,
              log: createLogger(config.logLevel).child({ component: 'store' }),
            })
          : new MemoryFleetStore(registry),
    },
  ],
  exports: [FLEET_STORE],
})
export class StoreModule {}
