import { Module } from '@nestjs/common';
import { OpsModule } from '../ops/ops.module.js';
import { RegistryModule } from '../instances/registry.module.js';
import { HeartbeatRoute } from './heartbeat.route.js';

@Module({
  imports: [RegistryModule, OpsModule],
  providers: [HeartbeatRoute],
})
export class HeartbeatsModule {}
