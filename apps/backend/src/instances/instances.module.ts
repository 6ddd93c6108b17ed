import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsModule } from '../events/events.module.js';
import { createLogger } from '../logger.js';
import { InstancesController } from './instances.controller.js';
import { PluginCommandLog } from './plugin-command-log.js';
import { PluginCommandService } from './plugin-command.service.js';
import { PLUGIN_COMMAND_STORE, PluginCommandFile, type PluginCommandStore } from './plugin-command-store.js';
import { PluginCommandsController } from './plugin-commands.controller.js';
import { RedisPluginCommandStore } from './redis-plugin-command-store.js';
import { RegistryModule } from './registry.module.js';

/** Instances over REST, and plugin commands: kept in `<dataDir>/plugin-commands.json` (in Redis with the redis store). */
@Module({
  imports: [RegistryModule, EventsModule],
  controllers: [InstancesController, PluginCommandsController],
  providers: [
    PluginCommandService,
    PluginCommandLog,
    {
      provide: PLUGIN_COMMAND_STORE,
      inject: [VIGIL_CONFIG, PluginCommandLog],
      useFactory: (config: VigilConfig, log: PluginCommandLog): PluginCommandStore =>
        config.store.kind === 'redis'
          ? new RedisPluginCommandStore(
              config.store,
              config.store.prefix,
              createLogger(config.logLevel).child({ component: 'plugin-commands' }),
            )
          : new PluginCommandFile(join(config.dataDir, 'plugin-commands.json'), log),
    },
  ],
})
export class InstancesModule {}
