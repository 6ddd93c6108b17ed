import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsModule } from '../events/events.module.js';
import { HealthModule } from '../health/health.module.js';
import { RegistryModule } from '../instances/registry.module.js';
import { createLogger } from '../logger.js';
import { ALERT_RULE_STORE, AlertRuleFile, type AlertRuleStore } from './alert-rule-store.js';
import { AlertRulesController } from './alert-rules.controller.js';
import { AlertRulesService } from './alert-rules.service.js';
import { RedisAlertRuleStore } from './redis-alert-rule-store.js';

/** Alert rules: saved in `<dataDir>/alert-rules.json` (in Redis with the redis store), judged on every metrics sample. */
@Module({
  imports: [EventsModule, HealthModule, RegistryModule],
  controllers: [AlertRulesController],
  providers: [
    AlertRulesService,
    {
      provide: ALERT_RULE_STORE,
      useFactory: (config: VigilConfig): AlertRuleStore =>
        config.store.kind === 'redis'
          ? new RedisAlertRuleStore(config.store, config.store.prefix, createLogger(config.logLevel).child({ component: 'alert-rules' }))
          : new AlertRuleFile(join(config.dataDir, 'alert-rules.json')),
      inject: [VIGIL_CONFIG],
    },
  ],
})
export class RulesModule {}
