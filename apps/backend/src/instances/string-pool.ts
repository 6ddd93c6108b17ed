import type { PluginInfo } from '@vigil/protocol';
import type { InstanceInput } from './instance-registry.js';

/** Distinct strings a pool keeps at most: past that it stops adding (and shares what it has). */
export const STRING_POOL_LIMIT = 100_000;

/** Strings longer than this are rarely shared between instances, and are not pooled. */
const MAX_POOLED_LENGTH = 64;

/**
 * Shares equal strings between instances. Every parsed beat brings its own copy of `svc-001`,
 * `template`, `1.2.0` or `started`; over a fleet of 300,000 that is millions of small strings
 * holding a few hundred distinct values. The registry keeps the pooled copy instead. Bounded, so
 * a fleet of unique values costs one failed lookup per string and no more memory than before.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  get size(): number {
    return this.pool.size;
  }

  intern(value: string): string {
    if (value.length > MAX_POOLED_LENGTH) return value;
    const pooled = this.pool.get(value);
    if (pooled !== undefined) return pooled;
    if (this.pool.size < STRING_POOL_LIMIT) this.pool.set(value, value);
    return value;
  }

  /** The input with its low-cardinality strings (names, versions, plugins, ext-info, metadata) pooled. */
  internInput<T extends InstanceInput>(input: T): T {
    return {
      ...input,
      service: this.intern(input.service),
      appName: this.intern(input.appName),
      artifact: this.intern(input.artifact),
      appType: this.intern(input.appType),
      version: this.intern(input.version),
      plugins: input.plugins.map((plugin) => this.internPlugin(plugin)),
      metadata: this.internRecord(input.metadata),
    };
  }

  private internPlugin(plugin: PluginInfo): PluginInfo {
    return { ...plugin, name: this.intern(plugin.name), version: this.intern(plugin.version), extInfo: this.internRecord(plugin.extInfo) };
  }

  private internRecord(record: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key in record) out[this.intern(key)] = this.intern(record[key]!);
    return out;
  }
}
