import type { InstanceRegistry } from '../instances/instance-registry.js';

/** What `/readyz` reports about the store. */
export interface StoreHealth {
  store: 'memory' | 'redis';
  /** False while the shared store cannot be reached: beats are still answered and kept in memory. */
  connected: boolean;
}

/**
 * Where the fleet's state lives and who runs its expiry. The registry in memory always answers
 * beats and queries; a store decides how its lease deadlines fire: `memory` by the registry's
 * own lease table, `redis` by an atomic claim in Redis shared by every replica (see
 * redis-fleet.ts).
 */
export interface FleetStore {
  /** Called every lease tick. */
  tick(now: number): void;
  health(): StoreHealth;
}

export const FLEET_STORE = Symbol('FLEET_STORE');

/** The default: one process, the registry's lease table fires every deadline. */
export class MemoryFleetStore implements FleetStore {
  constructor(private readonly registry: InstanceRegistry) {}

  tick(now: number): void {
    this.registry.tick(now);
  }

  health(): StoreHealth {
    return { store: 'memory', connected: true };
  }
}
