import { Module } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceAdmission } from './instance-admission.js';
import { InstanceRegistry, type RegistryOptions } from './instance-registry.js';
import { PluginCommandQueue } from './plugin-commands.js';

/** How often due lease deadlines are looked for; with 10 ms slots a transition fires <= ~30 ms late. */
export const LEASE_TICK_MS = 20;

/** A tick this late means the backend itself stalled (GC, SIGSTOP, blocked loop): leases are extended by the stall. */
export const STALL_THRESHOLD_MS = 1_000;

/** Registry settings from the configuration. */
export function registryOptions(config: VigilConfig): RegistryOptions {
  return {
    timings: { intervalMs: config.heartbeatIntervalMs, lostAfterMs: config.lostAfterMs, removeAfterMs: config.removeAfterMs },
    suspectAfterIntervals: 2,
    tickMs: LEASE_TICK_MS,
    stallThresholdMs: STALL_THRESHOLD_MS,
    selfPreservation: config.selfPreservation,
    historySize: 32,
  };
}

/** The instance registry, its admission check and the plugin command queue: the state every feature shares (its 20 ms tick is `LeaseTicker`, in ../leases). */
@Module({
  providers: [
    {
      provide: PluginCommandQueue,
      inject: [InstanceRegistry],
      useFactory: (registry: InstanceRegistry) => {
        const queue = new PluginCommandQueue();
        registry.onChange((change) => change.type === 'removed' && queue.drop(change.instanceId));
        return queue;
      },
    },
    {
      provide: InstanceRegistry,
      inject: [VIGIL_CONFIG, CLOCK],
      useFactory: (config: VigilConfig, clock: Clock) => new InstanceRegistry(registryOptions(config), clock.now()),
    },
    {
      provide: InstanceAdmission,
      inject: [VIGIL_CONFIG, InstanceRegistry, CLOCK],
      useFactory: (config: VigilConfig, registry: InstanceRegistry, clock: Clock) =>
        new InstanceAdmission(registry, config.admission, () => clock.now()),
    },
  ],
  exports: [InstanceRegistry, PluginCommandQueue, InstanceAdmission],
})
export class RegistryModule {}
