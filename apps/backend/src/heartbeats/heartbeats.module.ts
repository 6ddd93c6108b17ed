import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { OpsModule } from '../ops/ops.module.js';
import { RegistryModule } from '../instances/registry.module.js';
import { PluginConfigModule } from '../plugin-config/plugin-config.module.js';
import { BeatHandler } from './beat-handler.js';
import { BeatSocketServer } from './beat-socket.js';
import { HeartbeatRoute } from './heartbeat.route.js';

@Module({
  imports: [RegistryModule, OpsModule, EventsModule, PluginConfigModule],
  providers: [BeatHandler, HeartbeatRoute, BeatSocketServer],
})
export class HeartbeatsModule {}
