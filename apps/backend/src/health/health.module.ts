import { Module } from '@nestjs/common';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { RegistryModule } from '../instances/registry.module.js';
import { MetricsFeed } from './metrics-feed.js';

/**
 * What beats say of an instance's load, for the features that follow it (alert rules): the
 * `MetricsFeed`, fed by the registry with every beat taken here that brought metrics. Import
 * this module to subscribe. (The latest metrics and their history live with the instances:
 * metrics-table.ts, metrics-history.ts, kept by the registry.)
 */
@Module({
  imports: [RegistryModule],
  providers: [
    {
      provide: MetricsFeed,
      inject: [InstanceRegistry],
      useFactory: (registry: InstanceRegistry) => {
        const feed = new MetricsFeed();
        registry.onMetrics((instance) => {
          if (instance.metrics === null || !feed.listening) return;
          feed.publish({ instanceId: instance.instanceId, service: instance.service, metrics: instance.metrics });
        });
        return feed;
      },
    },
  ],
  exports: [MetricsFeed],
})
export class HealthModule {}
