import type { BeatMetrics, Instance, InstanceMetrics, InstanceStatus } from '@vigil/protocol';
import { MetricsHistory } from '../health/metrics-history.js';
import { MetricsTable } from '../health/metrics-table.js';
import { ArrivalLog } from './arrival-log.js';
import { ExtInfoChangeRate } from './ext-info-change-rate.js';
import { recordOf, type InstanceRecord } from './instance-record.js';
import { StringPool } from './string-pool.js';
import type { Timings } from './timings.js';

/**
 * The known instances: their records by id, the counts by status the gauges and `/readyz`
 * read without a scan, and the per-instance side tables kept outside the records (the arrival
 * log's rings, the ext-info change rate, the metrics history) with the string pool their strings go through.
 * Storage only: what a beat or a deadline does to a record is the lease machine's.
 */
export class InstanceTable {
  private readonly records = new Map<string, InstanceRecord>();
  readonly arrivals: ArrivalLog;
  readonly strings = new StringPool();
  readonly extInfoChanges = new ExtInfoChangeRate();
  /** The latest metrics and the metrics history of every instance, by the slot of its arrival log. */
  readonly latestMetrics = new MetricsTable();
  readonly metricsHistory = new MetricsHistory();
  readonly counts: Record<InstanceStatus, number> = { healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0 };
  private ephemeral = 0;

  constructor(historySize: number) {
    this.arrivals = new ArrivalLog(historySize);
  }

  get size(): number {
    return this.records.size;
  }

  /** Instances with a lease (agents, Nacos ephemeral instances). */
  get ephemeralCount(): number {
    return this.ephemeral;
  }

  get(instanceId: string): InstanceRecord | undefined {
    return this.records.get(instanceId);
  }

  values(): IterableIterator<InstanceRecord> {
    return this.records.values();
  }

  /** Recent arrival times of an instance's beats, oldest first. */
  history(instanceId: string): readonly number[] {
    const record = this.records.get(instanceId);
    return record ? this.arrivals.list(record.slot) : [];
  }

  /** Adds a record for `instance`, whose last beat is its first arrival. */
  add(instance: Instance, timings: Timings): InstanceRecord {
    const slot = this.arrivals.allocate();
    this.arrivals.push(slot, instance.lastHeartbeatTime);
    const record = recordOf(instance, timings, slot);
    this.records.set(instance.instanceId, record);
    this.counts[instance.status]++;
    if (instance.ephemeral) this.ephemeral++;
    return record;
  }

  /** Puts a new Instance (status, identity) on a record, keeping the counts in step. */
  replace(record: InstanceRecord, instance: Instance): void {
    const previous = record.instance;
    if (previous.status !== instance.status) {
      this.counts[previous.status]--;
      this.counts[instance.status]++;
    }
    if (previous.ephemeral !== instance.ephemeral) this.ephemeral += instance.ephemeral ? 1 : -1;
    record.instance = instance;
  }

  /**
   * A beat's figures at `now` become the instance's latest metrics (its `metrics`, a view of the
   * table made on the first) and go into its history.
   */
  sample(record: InstanceRecord, figures: BeatMetrics, now: number): void {
    this.latestMetrics.write(record.slot, figures, now);
    this.metricsHistory.record(record.slot, record.instance.instanceId, figures, now);
    if (record.instance.metrics === null) record.instance.metrics = this.latestMetrics.view(record.slot);
  }

  /** Metrics another replica sent with the instance: taken when newer than what this one has (not into the history). */
  takeRemoteMetrics(record: InstanceRecord, metrics: InstanceMetrics | null): void {
    if (metrics === null || metrics.sampledAt <= (record.instance.metrics?.sampledAt ?? -1)) return;
    this.latestMetrics.writeObject(record.slot, metrics);
    if (record.instance.metrics === null) record.instance.metrics = this.latestMetrics.view(record.slot);
  }

  /** Drops a record and what the side tables hold for it. */
  drop(record: InstanceRecord): void {
    const { instance } = record;
    this.records.delete(instance.instanceId);
    this.extInfoChanges.forget(instance.instanceId);
    this.arrivals.release(record.slot);
    this.latestMetrics.release(record.slot);
    this.metricsHistory.release(record.slot, instance.instanceId);
    this.counts[instance.status]--;
    if (instance.ephemeral) this.ephemeral--;
  }
}
