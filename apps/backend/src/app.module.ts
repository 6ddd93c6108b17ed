import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import type { Clock } from './common/clock.js';
import { AccessModule } from './access/access.module.js';
import { ConfigModule } from './config/config.module.js';
import type { VigilConfig } from './config/vigil-config.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { HeartbeatsModule } from './heartbeats/heartbeats.module.js';
import { InstancesModule } from './instances/instances.module.js';
import { LeasesModule } from './leases/leases.module.js';
import { NacosModule } from './nacos/nacos.module.js';
import { OpsModule } from './ops/ops.module.js';
import { PluginConfigModule } from './plugin-config/plugin-config.module.js';
import { RealtimeModule } from './realtime/realtime.module.js';
import { RulesModule } from './rules/rules.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule {
  static forRoot(config: VigilConfig, clock?: Clock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, clock),
        AccessModule,
        ScheduleModule.forRoot(),
        HeartbeatsModule,
        HealthModule,
        InstancesModule,
        LeasesModule,
        EventsModule,
        RealtimeModule,
        OpsModule,
        WebhooksModule,
        NacosModule,
        RulesModule,
        PluginConfigModule,
      ],
    };
  }
}
