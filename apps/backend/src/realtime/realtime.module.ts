import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module.js';
import { RealtimeGateway } from './realtime.gateway.js';

@Module({
  imports: [InstancesModule],
  providers: [RealtimeGateway],
})
export class RealtimeModule {}
