import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsModule } from '../events/events.module.js';
import { createLogger } from '../logger.js';
import { RedisWebhookStore } from './redis-webhook-store.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookStore, type WebhookSettingsStore } from './webhook-store.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/** Time allowed for one delivery attempt, DNS to the last byte of the answer. */
const ATTEMPT_TIMEOUT_MS = 5_000;

/** Webhooks: settings saved in `<dataDir>/webhooks.json` (in Redis with the redis store), events delivered as they are recorded. */
@Module({
  imports: [EventsModule],
  controllers: [WebhooksController],
  providers: [
    WebhooksService,
    {
      provide: WebhookStore,
      useFactory: (config: VigilConfig): WebhookSettingsStore =>
        config.store.kind === 'redis'
          ? new RedisWebhookStore(config.store, config.store.prefix, createLogger(config.logLevel).child({ component: 'webhooks' }))
          : new WebhookStore(join(config.dataDir, 'webhooks.json')),
      inject: [VIGIL_CONFIG],
    },
    {
      provide: WebhookSender,
      useFactory: (config: VigilConfig) => new WebhookSender({ allowPrivate: config.webhookAllowPrivate, timeoutMs: ATTEMPT_TIMEOUT_MS }),
      inject: [VIGIL_CONFIG],
    },
  ],
})
export class WebhooksModule {}
