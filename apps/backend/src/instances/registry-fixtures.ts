/**
 * What the registry's tests share (not built into dist: tsconfig.build.json leaves out
 * `*-fixtures.ts`): beats, options, and a driver that moves time the way the real ticker does.
 */
import type { FullBeat, LightBeat } from '@vigil/protocol';
import { InstanceRegistry, type RegistryChange, type RegistryEvent, type RegistryOptions } from './instance-registry.js';

export const LOST_AFTER = 15_000;
export const REMOVE_AFTER = 600_000;
export const TICK = 20;

export function fullBeat(overrides: Partial<FullBeat> = {}): FullBeat {
  return {
    v: 1,
    kind: 'full',
    instanceId: 'i-1',
    heartbeatTime: 0,
    lastHeartbeatTime: null,
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: 'host-a',
    ip: ['10.0.0.5'],
    processId: 4242,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
    ...overrides,
  };
}

export const lightBeat = (instanceId = 'i-1'): LightBeat => ({
  v: 1,
  kind: 'light',
  instanceId,
  heartbeatTime: 0,
  lastHeartbeatTime: 0,
});

export function registryOptions(overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return {
    timings: { intervalMs: null, lostAfterMs: LOST_AFTER, removeAfterMs: REMOVE_AFTER },
    suspectAfterIntervals: 2,
    tickMs: TICK,
    stallThresholdMs: 1_000,
    selfPreservation: { minInstances: 10, ratio: 0.5 },
    historySize: 32,
    ...overrides,
  };
}

/** A registry built at time 0, what it reported, and the time as the tests move it. */
export class RegistryDriver {
  readonly registry: InstanceRegistry;
  readonly changes: RegistryChange[] = [];
  readonly events: RegistryEvent[] = [];
  clock = 0;

  constructor(overrides: Partial<RegistryOptions> = {}) {
    this.registry = new InstanceRegistry(registryOptions(overrides), 0);
    this.registry.onChange((change) => this.changes.push(change));
    this.registry.onEvent((event) => this.events.push(event));
  }

  /** Moves time forward the way the real ticker does: one tick every 20 ms, and one at `t`. */
  advanceTo(t: number): void {
    while (this.clock + TICK <= t) {
      this.clock += TICK;
      this.registry.tick(this.clock);
    }
    if (this.clock < t) {
      this.clock = t;
      this.registry.tick(this.clock);
    }
  }

  /** Beats each of `ids` every `interval` ms from `from` to `to` (inclusive), advancing time; a full beat first. */
  beatEvery(ids: string[], interval: number, from: number, to: number): void {
    for (let t = from; t <= to; t += interval) {
      this.advanceTo(t);
      for (const id of ids) {
        if (!this.registry.get(id)) this.registry.applyBeat(fullBeat({ instanceId: id }), t);
        else this.registry.applyBeat(lightBeat(id), t);
      }
    }
  }
}
