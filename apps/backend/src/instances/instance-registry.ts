import type { BeatResult, FullBeat, Heartbeat, Instance } from '@vigil/protocol';
import { LeaseTable } from '../leases/lease-table.js';

/** What changed, for whoever pushes changes to dashboards. */
export type RegistryChange =
  | { type: 'upsert'; instance: Instance }
  | { type: 'removed'; instanceId: string }
  /** A beat that renewed the lease and changed nothing else a user sees. */
  | { type: 'beat'; instanceId: string; time: number };

export interface RegistryTimings {
  lostAfterMs: number;
  removeAfterMs: number;
}

/** Granularity of the lease table: deadlines fire at most this late (plus the tick period). */
export const LEASE_SLOT_MS = 10;

interface InstanceRecord {
  instance: Instance;
  /** Identity, plugins and ext-info as last reported, to tell visible changes from plain renewals. */
  fingerprint: string;
}

/**
 * The set of known instances and their leases: every beat renews a lease; a lease that runs
 * out turns the instance `lost`; a goodbye turns it `offline` at once; a lost or offline
 * instance is removed once `removeAfterMs` has passed since its last beat, unless it beats
 * again first. Pure logic: time is passed in, so tests drive it exactly.
 */
export class InstanceRegistry {
  private readonly records = new Map<string, InstanceRecord>();
  private readonly leases: LeaseTable<string>;
  private readonly listeners = new Set<(change: RegistryChange) => void>();

  constructor(
    private readonly timings: RegistryTimings,
    now: number,
  ) {
    this.leases = new LeaseTable(LEASE_SLOT_MS, now);
  }

  get size(): number {
    return this.records.size;
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): Instance[] {
    return Array.from(this.records.values(), (record) => record.instance);
  }

  get(instanceId: string): Instance | undefined {
    return this.records.get(instanceId)?.instance;
  }

  /** Applies a validated beat received at `now`. */
  applyBeat(beat: Heartbeat, now: number): BeatResult {
    const record = this.records.get(beat.instanceId);
    if (beat.kind === 'light') {
      if (!record) return 'unknown';
      this.renew(record, now, false);
      return 'renewed';
    }
    if (beat.kind === 'goodbye') {
      if (!record) return 'unknown';
      this.deregister(record, now);
      return 'offline';
    }
    if (!record) {
      this.register(beat, now);
      return 'registered';
    }
    const fingerprint = fingerprintOf(beat);
    const changed = fingerprint !== record.fingerprint;
    if (changed) {
      record.fingerprint = fingerprint;
      record.instance = { ...record.instance, ...identityOf(beat) };
    }
    this.renew(record, now, changed);
    return 'renewed';
  }

  /** Fires every lease deadline that is due at `now`. Called by a short periodic tick. */
  tick(now: number): void {
    this.leases.expire(now, (instanceId, deadline) => this.onDeadline(instanceId, deadline, now));
  }

  private register(beat: FullBeat, now: number): void {
    const instance: Instance = {
      ...identityOf(beat),
      status: 'healthy',
      registeredAt: now,
      lastHeartbeatTime: now,
      statusSince: now,
    };
    this.records.set(beat.instanceId, { instance, fingerprint: fingerprintOf(beat) });
    this.leases.schedule(beat.instanceId, now + this.timings.lostAfterMs);
    this.emit({ type: 'upsert', instance });
  }

  private renew(record: InstanceRecord, now: number, changed: boolean): void {
    const current = record.instance;
    const revived = current.status !== 'healthy';
    if (changed || revived) {
      record.instance = {
        ...current,
        status: 'healthy',
        statusSince: revived ? now : current.statusSince,
        lastHeartbeatTime: now,
      };
      this.emit({ type: 'upsert', instance: record.instance });
    } else {
      current.lastHeartbeatTime = now;
      this.emit({ type: 'beat', instanceId: current.instanceId, time: now });
    }
    this.leases.schedule(current.instanceId, now + this.timings.lostAfterMs);
  }

  /** The service said goodbye: offline at once, removed like a lost one. */
  private deregister(record: InstanceRecord, now: number): void {
    const { instance } = record;
    if (instance.status !== 'offline') {
      record.instance = { ...instance, status: 'offline', statusSince: now };
      this.emit({ type: 'upsert', instance: record.instance });
    }
    this.leases.schedule(instance.instanceId, instance.lastHeartbeatTime + this.timings.removeAfterMs);
  }

  private onDeadline(instanceId: string, deadline: number, now: number): void {
    const record = this.records.get(instanceId);
    if (!record) return;
    const { instance } = record;
    if (instance.status === 'healthy') {
      // The status changed at the deadline, whenever the tick noticed it.
      record.instance = { ...instance, status: 'lost', statusSince: deadline };
      this.leases.schedule(instanceId, instance.lastHeartbeatTime + this.timings.removeAfterMs);
      this.emit({ type: 'upsert', instance: record.instance });
      return;
    }
    const removeAt = instance.lastHeartbeatTime + this.timings.removeAfterMs;
    if (now < removeAt) {
      this.leases.schedule(instanceId, removeAt);
      return;
    }
    this.records.delete(instanceId);
    this.emit({ type: 'removed', instanceId });
  }

  private emit(change: RegistryChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** The instance fields a full beat carries, in API form (no beat times). */
function identityOf(beat: FullBeat): Omit<Instance, 'status' | 'registeredAt' | 'lastHeartbeatTime' | 'statusSince'> {
  return {
    instanceId: beat.instanceId,
    service: beat.service,
    appName: beat.appName,
    artifact: beat.artifact,
    appType: beat.appType,
    hostName: beat.hostName,
    ip: beat.ip,
    processId: beat.processId,
    dynamicInstall: beat.dynamicInstall,
    version: beat.version,
    plugins: beat.plugins,
  };
}

function fingerprintOf(beat: FullBeat): string {
  return JSON.stringify(identityOf(beat));
}
