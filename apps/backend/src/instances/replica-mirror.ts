import type { Instance, InstanceStatus } from '@vigil/protocol';
import type { ExpiryGuard } from './expiry-guard.js';
import { aliveStatus } from './instance-health.js';
import { instanceOf } from './instance-record.js';
import type { InstanceTable } from './instance-table.js';
import type { LeaseMachine } from './lease-machine.js';
import type { RegistryListeners } from './registry-events.js';
import type { RegistryOptions } from './registry-options.js';
import { timingsOf } from './timings.js';

/**
 * The registry as a mirror of what other replicas and the redis store decided (redis mode,
 * store/redis-fleet.ts). What is mirrored changes records, counts and dashboards like a local
 * change, but logs no event (the replica or the claim that made it did) and schedules no lease:
 * the store's claim script fires the timed transitions.
 */
export class ReplicaMirror {
  constructor(
    private readonly options: RegistryOptions,
    private readonly table: InstanceTable,
    private readonly machine: LeaseMachine,
    private readonly guard: ExpiryGuard,
    private readonly listeners: RegistryListeners,
  ) {}

  /** An instance another replica registered or changed, as it was sent. */
  upsert(remote: Instance): void {
    const pooled = this.table.strings.internInput(remote);
    const record = this.table.get(remote.instanceId);
    // Its metrics view is kept across versions, as for a local instance; the figures sent are
    // taken when newer (a beat mirrored from the feed may be newer than the instance sent).
    const instance = instanceOf(
      pooled,
      pooled.status,
      pooled.registeredAt,
      pooled.lastHeartbeatTime,
      pooled.statusSince,
      record?.instance.metrics ?? null,
      remote.health ?? null,
    );
    const timings = timingsOf(instance.metadata, this.options.timings);
    if (!record) {
      const added = this.table.add(instance, timings);
      this.table.takeRemoteMetrics(added, remote.metrics ?? null);
      this.guard.tally(added, 1);
      this.listeners.change({ type: 'upsert', instance });
      return;
    }
    const becameLost = instance.status === 'lost' && record.instance.status !== 'lost';
    this.guard.tally(record, -1);
    record.timings = timings;
    this.table.replace(record, instance);
    this.table.takeRemoteMetrics(record, remote.metrics ?? null);
    this.guard.tally(record, 1);
    if (becameLost) this.guard.noteLost(record, instance.statusSince);
    this.listeners.change({ type: 'upsert', instance });
  }

  /**
   * A plain beat another replica took (its metrics already taken by the registry); an instance
   * mirrored as overdue is alive again: healthy, or unhealthy while its health is down.
   */
  beat(instanceId: string, time: number): void {
    const record = this.table.get(instanceId);
    if (!record || time < record.instance.lastHeartbeatTime) return;
    this.table.arrivals.push(record.slot, time);
    record.held = false;
    const { instance } = record;
    instance.lastHeartbeatTime = time;
    const alive = aliveStatus(instance.health);
    if (instance.ephemeral && instance.status !== alive) {
      this.machine.transition(record, alive, time);
      return;
    }
    const metrics = instance.metrics !== null && instance.metrics.sampledAt === time ? instance.metrics : null;
    this.listeners.change({ type: 'beat', instanceId, time, metrics });
  }

  /**
   * A timed transition the store decided (suspect, lost, held): the record's status, lease end
   * and hold flag, so a later beat taken here schedules from the right state.
   */
  transition(instanceId: string, status: InstanceStatus, since: number, leaseEnd: number, held: boolean): void {
    const record = this.table.get(instanceId);
    if (!record) return;
    record.leaseEnd = leaseEnd;
    record.held = held;
    // The store held a mass expiry: this replica is in self-preservation too (shown by /readyz
    // and the gauge; no event: the store raises none), until `settle` sees the overdue share
    // drop below the ratio.
    if (held) this.guard.heldByStore();
    if (status === 'lost' && record.instance.status !== 'lost') this.guard.noteLost(record, since);
    if (record.instance.status !== status) this.machine.transition(record, status, since);
  }

  /** An instance another replica or the store removed. */
  remove(instanceId: string): boolean {
    const record = this.table.get(instanceId);
    if (!record) return false;
    this.machine.forget(record);
    return true;
  }

  /** Every tick in redis mode, instead of the lease machine's: leaves self-preservation once the share drops, silently. */
  settle(now: number): void {
    this.guard.settle(now, false);
  }
}
