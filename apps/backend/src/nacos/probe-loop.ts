import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { probeTargetOf, type Prober } from './health-probes.js';
import { isNacosInstance, type NacosInstance } from './nacos-instance.js';
import { ProbeHysteresis } from './probe-hysteresis.js';

/** The function that probes a target; tests give a fake one. */
export const PROBER = Symbol('PROBER');

/** Longest wait for one probe; shorter when probes run more often, so rounds do not pile up. */
export const MAX_PROBE_TIMEOUT_MS = 2_000;

/**
 * Probes every persistent Nacos instance every `config.probeIntervalMs` and sets it `unhealthy`
 * after 3 failures in a row, `healthy` after 3 passes. Persistent instances have no lease, so
 * silence never removes them: only a deregister does.
 */
@Injectable()
export class ProbeLoop implements OnModuleInit, OnModuleDestroy {
  private readonly hysteresis = new ProbeHysteresis();
  /** Instances whose probe has not finished: a round skips them rather than stack probes up. */
  private readonly inFlight = new Set<string>();
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
    @Inject(PROBER) private readonly prober: Prober,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.timeoutMs = Math.min(MAX_PROBE_TIMEOUT_MS, config.probeIntervalMs);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.probeAll(), this.config.probeIntervalMs);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One round: probes every persistent Nacos instance once; resolves when its probes are done. */
  async probeAll(): Promise<void> {
    // A fleet of agents has no persistent instance: do not walk (and copy) it every round.
    if (this.registry.persistentCount === 0) {
      this.hysteresis.retain(new Set());
      return;
    }
    const persistent = this.registry.list().filter((i): i is NacosInstance => isNacosInstance(i) && !i.ephemeral);
    this.hysteresis.retain(new Set(persistent.map((i) => i.instanceId)));
    await Promise.all(persistent.filter((i) => !this.inFlight.has(i.instanceId)).map((i) => this.probeOne(i)));
  }

  private async probeOne(instance: NacosInstance): Promise<void> {
    const id = instance.instanceId;
    this.inFlight.add(id);
    try {
      const passed = await this.prober(probeTargetOf(instance), this.timeoutMs);
      // Judge against the instance as it is now: it may have been removed or flipped meanwhile.
      const current = this.registry.get(id);
      if (!isNacosInstance(current) || current.ephemeral) return;
      const healthy = this.hysteresis.record(id, passed, current.status === 'healthy');
      if (healthy !== null) this.registry.setProbeResult(id, healthy, this.clock.now());
    } finally {
      this.inFlight.delete(id);
    }
  }
}
