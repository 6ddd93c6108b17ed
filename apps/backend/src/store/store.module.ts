import { Inject, Injectable, Module } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
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

/** Drives the store every lease tick: the registry's own expiry (memory) or the shared claim (redis). */
@Injectable()
export class LeaseTicker {
  constructor(
    @Inject(FLEET_STORE) private readonly store: FleetStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Interval(LEASE_TICK_MS)
  tick(): void {
    this.store.tick(this.clock.now());
  }
}

/** The store the fleet lives in, chosen by `VIGIL_STORE`, and its tick. */
@Module({
  imports: [RegistryModule, EventsModule],
  providers: [
    {
      provide: FLEET_STORE,
      inject: [VIGIL_CONFIG, InstanceRegistry, EventsService, PluginCommandQueue],
      useFactory: (config: VigilConfig, registry: InstanceRegistry, events: EventsService, commands: PluginCommandQueue): FleetStore =>
        config.store.kind === 'redis'
          ? new RedisFleetStore(registry, events, commands, {
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
    LeaseTicker,
  ],
  exports: [FLEET_STORE],
})
export class StoreModule {}
