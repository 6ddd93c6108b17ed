import { Module } from '@nestjs/common';
import { RegistryModule } from '../instances/registry.module.js';
import { HeartbeatRoute } from './heartbeat.route.js';

@Module({
  imports: [RegistryModule],
  providers: [HeartbeatRoute],
})
export class HeartbeatsModule {}
