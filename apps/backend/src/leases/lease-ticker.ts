import { Inject, Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CLOCK, type Clock } from '../common/clock.js';
import { LEASE_TICK_MS } from '../instances/registry.module.js';
import { FLEET_STORE, type FleetStore } from '../store/fleet-store.js';

/**
 * The one timer behind all expiry: every lease tick it hands the store the time, and the store
 * fires what is due (memory: the registry's lease table; redis: the shared claim, after writing
 * this replica's changes through). Every deadline is only as exact as this tick is frequent.
 */
@Injectable()
export class LeaseTicker {
  constructor(
    @Inject(FLEET_STORE) private readonly store: FleetStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Interval(LEASE_TICK_MS)
  tick(): void {
    this.store.tick(this.clock.now());
  }
}
