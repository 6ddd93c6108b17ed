import type { HealthReport, PluginInfo } from '@vigil/protocol';
import type { InstanceRegistry, RegistryEvent } from './instance-registry.js';

/**
 * Who a request came from, for quotas: its agent token (the scope object the token set holds for
 * it, one per configured token), or its peer address when it came without one (loopback in
 * protected mode).
 */
export type Client = object | string;

export interface AdmissionLimits {
  /** `VIGIL_MAX_INSTANCES`: instances the registry holds at most. */
  maxInstances: number;
  /** `VIGIL_MAX_INSTANCES_PER_CLIENT`: instances one token or address may have registered at once. */
  maxInstancesPerClient: number;
  /** `VIGIL_INSTANCE_MAX_BYTES`: estimated bytes of one instance's plugins, ext-info and metadata. */
  instanceMaxBytes: number;
}

/** A refused registration: the status and body to answer with. */
export interface Refusal {
  status: 413 | 429 | 503;
  body: { error: string; message: string };
}

const PLUGIN_OVERHEAD_BYTES = 100;
const ENTRY_OVERHEAD_BYTES = 40;

/**
 * What an instance keeps beyond its fixed fields, estimated from string lengths (two bytes a
 * character, V8's widest string form) plus overheads: its plugins with their ext-info and declared
 * settings, its metadata.
 */
export function instanceBytes(plugins: readonly PluginInfo[], metadata: Readonly<Record<string, string>> | undefined): number {
  let bytes = 0;
  for (const plugin of plugins) {
    bytes += PLUGIN_OVERHEAD_BYTES + 2 * (plugin.name.length + plugin.version.length) + entriesBytes(plugin.extInfo);
    if (plugin.settings !== undefined) bytes += settingsBytes(plugin.settings);
  }
  return bytes + entriesBytes(metadata);
}

/** A plugin's declared settings (dynamic configuration): names, descriptions and defaults. */
function settingsBytes(settings: NonNullable<PluginInfo['settings']>): number {
  let bytes = 0;
  for (const name in settings) {
    const { description, default: value } = settings[name]!;
    let chars = name.length + (description?.length ?? 0);
    if (typeof value === 'string') chars += value.length;
    else if (Array.isArray(value)) for (const item of value) chars += item.length + 8;
    bytes += ENTRY_OVERHEAD_BYTES + 2 * chars;
  }
  return bytes;
}

/** The same estimate for a full beat's health report: its indicators and their details, as the instance keeps them. */
export function healthBytes(health: HealthReport | undefined): number {
  let bytes = 0;
  for (const name in health?.indicators) {
    bytes += ENTRY_OVERHEAD_BYTES + 2 * name.length + entriesBytes(health.indicators[name]?.details);
  }
  return bytes;
}

function entriesBytes(entries: Readonly<Record<string, string>> | undefined): number {
  let bytes = 0;
  for (const key in entries) bytes += ENTRY_OVERHEAD_BYTES + 2 * (key.length + (entries[key]?.length ?? 0));
  return bytes;
}

/**
 * Whether a registration may go ahead, for every path that creates or widens an instance (agent
 * full beats over HTTP or the beat socket, Nacos register and beat): the instance's width, the
 * registry's size, the client's share. Known instances are never refused for the registry being
 * full: they keep beating. Light beats never come here.
 *
 * The registry counts as full from the first refusal until it is back under 99 % of the limit,
 * so an edge crossed back and forth logs one `registry.full` and one `registry.below-limit`.
 */
export class InstanceAdmission {
  private readonly eventListeners = new Set<(event: RegistryEvent) => void>();
  /** Set only when a per-client cap below the global one is configured: who registered each instance. */
  private readonly owners: Map<string, Client> | undefined;
  private readonly counts = new Map<Client, number>();
  private readonly belowLimit: number;
  private full = false;

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly limits: AdmissionLimits,
    now: () => number,
  ) {
    this.belowLimit = limits.maxInstances - Math.max(1, Math.floor(limits.maxInstances / 100));
    if (limits.maxInstancesPerClient < limits.maxInstances) this.owners = new Map();
    registry.onChange((change) => {
      if (change.type !== 'removed') return;
      if (this.owners !== undefined) this.release(change.instanceId);
      if (this.full && registry.size <= this.belowLimit) {
        this.full = false;
        this.emit({
          time: now(),
          level: 'important',
          type: 'registry.below-limit',
          message: `the registry holds ${registry.size} instances, under VIGIL_MAX_INSTANCES=${limits.maxInstances}: new instances are accepted again`,
          attributes: { instances: String(registry.size), max: String(limits.maxInstances) },
        });
      }
    });
  }

  /** True from the first instance refused for the registry's size until it is back under its limit. */
  get isFull(): boolean {
    return this.full;
  }

  get maxInstances(): number {
    return this.limits.maxInstances;
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * Decides a registration of `instanceId` (known or new) keeping `bytes` (`instanceBytes`) for
   * `client` at `now`; null when it may go ahead, which, for a new instance, counts it for the
   * client: the caller registers it in the same synchronous step.
   */
  admit(instanceId: string, known: boolean, bytes: number, client: Client | undefined, now: number): Refusal | null {
    if (bytes > this.limits.instanceMaxBytes) {
      return {
        status: 413,
        body: {
          error: 'instance too large',
          message: `the instance's plugins, ext-info and metadata take about ${bytes} bytes; at most ${this.limits.instanceMaxBytes} (VIGIL_INSTANCE_MAX_BYTES)`,
        },
      };
    }
    if (known) return null;
    if (this.registry.size >= this.limits.maxInstances) {
      if (!this.full) {
        this.full = true;
        this.emit({
          time: now,
          level: 'emergency',
          type: 'registry.full',
          message: `the registry holds VIGIL_MAX_INSTANCES=${this.limits.maxInstances} instances: new instances are refused (known ones keep beating)`,
          attributes: { instances: String(this.registry.size), max: String(this.limits.maxInstances) },
        });
      }
      return {
        status: 503,
        body: {
          error: 'registry full',
          message: `the backend holds its most instances (VIGIL_MAX_INSTANCES=${this.limits.maxInstances}); new instances are refused until some leave`,
        },
      };
    }
    if (this.owners === undefined || client === undefined) return null;
    const count = this.counts.get(client) ?? 0;
    if (count >= this.limits.maxInstancesPerClient) {
      return {
        status: 429,
        body: {
          error: 'too many instances for this client',
          message: `${typeof client === 'string' ? `address ${client}` : 'this agent token'} has ${count} instances registered; at most ${this.limits.maxInstancesPerClient} (VIGIL_MAX_INSTANCES_PER_CLIENT)`,
        },
      };
    }
    this.counts.set(client, count + 1);
    this.owners.set(instanceId, client);
    return null;
  }

  private release(instanceId: string): void {
    const client = this.owners!.get(instanceId);
    if (client === undefined) return;
    this.owners!.delete(instanceId);
    const count = (this.counts.get(client) ?? 1) - 1;
    if (count === 0) this.counts.delete(client);
    else this.counts.set(client, count);
  }

  private emit(event: RegistryEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}
