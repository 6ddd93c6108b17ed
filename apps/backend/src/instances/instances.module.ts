import { Inject, Injectable, Module } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from './instance-registry.js';
import { InstancesController } from './instances.controller.js';

/** How often due lease deadlines are looked for; with 10 ms slots a transition fires <= ~30 ms late. */
export const LEASE_TICK_MS = 20;

@Injectable()
export class LeaseTicker {
  constructor(
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Interval(LEASE_TICK_MS)
  tick(): void {
    this.registry.tick(this.clock.now());
  }
}

@Module({
  controllers: [InstancesController],
  providers: [
    {
      provide: InstanceRegistry,
      inject: [VIGIL_CONFIG, CLOCK],
      useFactory: (config: VigilConfig, clock: Clock) => new InstanceRegistry(config, clock.now()),
    },
    LeaseTicker,
  ],
  exports: [InstanceRegistry],
})
export class InstancesModule {}
