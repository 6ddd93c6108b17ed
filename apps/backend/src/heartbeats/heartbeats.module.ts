import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module.js';
import { HeartbeatRoute } from './heartbeat.route.js';

@Module({
  imports: [InstancesModule],
  providers: [HeartbeatRoute],
})
export class HeartbeatsModule {}
