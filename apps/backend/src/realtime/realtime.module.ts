import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { RegistryModule } from '../instances/registry.module.js';
import { RealtimeGateway } from './realtime.gateway.js';

@Module({
  imports: [RegistryModule, EventsModule],
  providers: [RealtimeGateway],
})
export class RealtimeModule {}
