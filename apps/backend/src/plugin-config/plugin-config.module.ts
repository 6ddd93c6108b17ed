import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsModule } from '../events/events.module.js';
import { RegistryModule } from '../instances/registry.module.js';
import { createLogger } from '../logger.js';
import { ConfigDeliveries } from './config-deliveries.js';
import { PLUGIN_CONFIG_STORE, PluginConfigFile, type PluginConfigStore } from './plugin-config-store.js';
import { PluginConfigController } from './plugin-config.controller.js';
import { PluginConfigService } from './plugin-config.service.js';
import { RedisPluginConfigStore } from './redis-plugin-config-store.js';

/**
 * Dynamic configuration of plugins: configurations saved in `<dataDir>/plugin-config.json` (in
 * Redis with the redis store), and `ConfigDeliveries`, what each instance is due, which the beat
 * handler puts in beat replies.
 */
@Module({
  imports: [EventsModule, RegistryModule],
  controllers: [PluginConfigController],
  providers: [
    PluginConfigService,
    { provide: ConfigDeliveries, useFactory: () => new ConfigDeliveries() },
    {
      provide: PLUGIN_CONFIG_STORE,
      useFactory: (config: VigilConfig): PluginConfigStore =>
        config.store.kind === 'redis'
          ? new RedisPluginConfigStore(
              config.store,
              config.store.prefix,
              createLogger(config.logLevel).child({ component: 'plugin-config' }),
            )
          : new PluginConfigFile(join(config.dataDir, 'plugin-config.json')),
      inject: [VIGIL_CONFIG],
    },
  ],
  exports: [ConfigDeliveries],
})
export class PluginConfigModule {}
