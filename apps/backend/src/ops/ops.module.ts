import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { RegistryModule } from '../instances/registry.module.js';
import { StoreModule } from '../store/store.module.js';
import { MetricsService } from './metrics.service.js';
import { OpsController } from './ops.controller.js';

@Module({
  imports: [RegistryModule, EventsModule, StoreModule],
  controllers: [OpsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class OpsModule {}
