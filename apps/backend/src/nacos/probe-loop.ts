import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { probeKey, probeTargetOf, type ProbeTarget, type Prober } from './health-probes.js';
import { isNacosInstance } from './nacos-instance.js';
import { ProbeHysteresis } from './probe-hysteresis.js';

/** The function that probes a target; tests give a fake one. */
export const PROBER = Symbol('PROBER');

/** Longest wait for one probe; shorter when probes run more often, so rounds do not pile up. */
export const MAX_PROBE_TIMEOUT_MS = 2_000;

/** One distinct target and the persistent instances that share it. */
interface TargetGroup {
  target: ProbeTarget;
  instanceIds: string[];
}

/**
 * Probes every persistent Nacos instance every `config.probeIntervalMs` and sets it `unhealthy`
 * after 3 failures in a row, `healthy` after 3 passes. Persistent instances have no lease, so
 * silence never removes them: only a deregister does. Instances with the same target (host,
 * port, path) share one probe per round, and at most `config.probeConcurrency` probes run at
 * once, so however many registrations there are, the load on a target and on the backend is
 * bounded (probe-policy.ts bounds the distinct targets).
 */
@Injectable()
export class ProbeLoop implements OnModuleInit, OnModuleDestroy {
  private readonly hysteresis = new ProbeHysteresis();
  /** Targets queued or being probed: a round skips them rather than stack probes up. */
  private readonly inFlight = new Set<string>();
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: InstanceRegistry,
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

  /** One round: probes every distinct target once; resolves when its probes are done. */
  async probeAll(): Promise<void> {
    // A fleet of agents has no persistent instance: do not walk (and copy) it every round.
    if (this.registry.persistentCount === 0) {
      this.hysteresis.retain(new Set());
      return;
    }
    const ids = new Set<string>();
    const groups = new Map<string, TargetGroup>();
    for (const instance of this.registry.list()) {
      if (!isNacosInstance(instance) || instance.ephemeral) continue;
      ids.add(instance.instanceId);
      const target = probeTargetOf(instance);
      const key = probeKey(target);
      if (this.inFlight.has(key)) continue;
      const group = groups.get(key);
      if (group) group.instanceIds.push(instance.instanceId);
      else groups.set(key, { target, instanceIds: [instance.instanceId] });
    }
    this.hysteresis.retain(ids);
    for (const key of groups.keys()) this.inFlight.add(key);
    const queue = groups.entries();
    // A fixed number of workers draining one shared iterator: at most `probeConcurrency` probes at once.
    const workers = Math.min(this.config.probeConcurrency, groups.size);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (const [key, group] of queue) await this.probeTarget(key, group);
      }),
    );
  }

  private async probeTarget(key: string, group: TargetGroup): Promise<void> {
    try {
      const passed = await this.prober(group.target, this.timeoutMs);
      const now = this.clock.now();
      for (const id of group.instanceIds) {
        // Judge against the instance as it is now: it may have been removed or flipped meanwhile.
        const current = this.registry.get(id);
        if (!isNacosInstance(current) || current.ephemeral) continue;
        const healthy = this.hysteresis.record(id, passed, current.status === 'healthy');
        if (healthy !== null) this.registry.setProbeResult(id, healthy, now);
      }
    } finally {
      this.inFlight.delete(key);
    }
  }
}
