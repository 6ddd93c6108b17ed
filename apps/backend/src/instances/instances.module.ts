import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { InstancesController } from './instances.controller.js';
import { PluginCommandService } from './plugin-command.service.js';
import { RegistryModule } from './registry.module.js';

@Module({
  imports: [RegistryModule, EventsModule],
  controllers: [InstancesController],
  providers: [PluginCommandService],
})
export class InstancesModule {}
