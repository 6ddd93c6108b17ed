import type { FullBeat, HealthReport, Instance, InstanceMetrics, InstanceStatus } from '@vigil/protocol';
import { NO_SLOT, type Leased } from '../leases/lease-table.js';
import type { Timings } from './timings.js';

/** The identity and settings of an instance, whatever protocol registered it. */
export type InstanceInput = Omit<Instance, 'status' | 'registeredAt' | 'lastHeartbeatTime' | 'statusSince' | 'metrics' | 'health'>;

/** What the beat path needs of a known instance, from one lookup (`beatTarget`): its timings. */
export interface BeatTarget {
  readonly timings: Timings;
}

/**
 * One instance. Kept small, because a backend holds hundreds of thousands: the instance as the API
 * shows it (its low-cardinality strings shared through a pool), its timings (the shared defaults
 * unless its metadata overrides them), and a slot in the table's arrival log instead of an
 * array of its own. A full beat is compared with the instance field by field, not through a
 * stored fingerprint string.
 */
export interface InstanceRecord extends Leased, BeatTarget {
  instance: Instance;
  timings: Timings;
  /** Its ring of recent beat arrival times in the table's ArrivalLog. */
  slot: number;
  /** The deadline that made this instance lost or held it (the lease's end). */
  leaseEnd: number;
  /** Held as suspect by self-preservation instead of being expired. */
  held: boolean;
}

/**
 * Every record is built here, registered locally or mirrored from another replica: one literal,
 * so every record has the same hidden class and the beat path's property accesses stay
 * monomorphic. The lease fields start empty; the lease machine fills them.
 */
export function recordOf(instance: Instance, timings: Timings, slot: number): InstanceRecord {
  return {
    instance,
    timings,
    slot,
    leaseEnd: 0,
    held: false,
    leaseDeadline: 0,
    leaseSlot: NO_SLOT,
  };
}

/**
 * Every Instance the registry holds is built here: one object literal with every field, always
 * in this order, so that all instances share one hidden class. `metrics` is the instance's one
 * metrics view (health/metrics-table.ts), passed on from version to version of the instance; the
 * beats that bring metrics write into the table it reads. Built by spreading (`{ ...input,
 * status }`), each instance got a hidden class and descriptor array of its own: ~600 B per
 * instance (a heap snapshot of 30,000 showed 31,000 descriptor arrays).
 */
export function instanceOf(
  from: InstanceInput,
  status: InstanceStatus,
  registeredAt: number,
  lastHeartbeatTime: number,
  statusSince: number,
  metrics: InstanceMetrics | null,
  health: HealthReport | null,
): Instance {
  return {
    instanceId: from.instanceId,
    source: from.source,
    service: from.service,
    appName: from.appName,
    artifact: from.artifact,
    appType: from.appType,
    hostName: from.hostName,
    ip: from.ip,
    processId: from.processId,
    dynamicInstall: from.dynamicInstall,
    version: from.version,
    plugins: from.plugins,
    metadata: from.metadata,
    ephemeral: from.ephemeral,
    nacos: from.nacos,
    status,
    registeredAt,
    lastHeartbeatTime,
    statusSince,
    metrics,
    health,
  };
}

/** The instance a full agent beat describes. */
export function agentInstanceOf(beat: FullBeat): InstanceInput {
  return {
    instanceId: beat.instanceId,
    source: 'agent',
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
    metadata: beat.metadata ?? {},
    ephemeral: true,
  };
}
