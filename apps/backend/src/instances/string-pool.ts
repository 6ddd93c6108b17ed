import { LIMITS, type PluginInfo } from '@vigil/protocol';
import type { InstanceInput } from './instance-record.js';

/** Distinct strings a pool keeps at most: past that it stops adding (and shares what it has). */
export const STRING_POOL_LIMIT = 100_000;

/** Strings longer than this are rarely shared between instances, and are not pooled. */
const MAX_POOLED_LENGTH = 64;

/** Longest JSON of a plugin's declared settings that is shared (a few dozen settings with descriptions). */
const MAX_SHARED_SETTINGS_JSON = 16_384;

/** Small ext-info / metadata records and plugin entries a pool shares at most. */
export const SHARED_OBJECT_LIMIT = 10_000;

/**
 * Shares equal values between instances. Every parsed beat brings its own copy of `svc-001`,
 * `template`, `1.2.0` or `started`, and of `{ status: 'started' }` or the template plugin's whole
 * entry; over a fleet of 300,000 that is millions of small strings and objects holding a few
 * hundred distinct values. The registry keeps the pooled copy instead (it never mutates them:
 * a change replaces them). Bounded, so a fleet of unique values costs a failed lookup per value
 * and no more memory than before.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();
  /** JSON of a small record or plugin entry -> the shared object. */
  private readonly objects = new Map<string, object>();

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
    const extInfo = this.internRecord(plugin.extInfo);
    const pooled: PluginInfo = { name: this.intern(plugin.name), version: this.intern(plugin.version), extInfo };
    if (plugin.enabled !== undefined) pooled.enabled = plugin.enabled;
    // Dynamic configuration (plugin-config/): what the plugin declares is the same on every
    // instance of its version, so shared whole; the versions it applied and refused are its own.
    if (plugin.settings !== undefined) pooled.settings = this.share(plugin.settings, LIMITS.pluginSettings, MAX_SHARED_SETTINGS_JSON);
    if (plugin.configVersion !== undefined) pooled.configVersion = plugin.configVersion;
    if (plugin.configRejected !== undefined) pooled.configRejected = plugin.configRejected;
    return this.share(pooled, 4);
  }

  private internRecord(record: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key in record) out[this.intern(key)] = this.intern(record[key]!);
    return this.share(out, 4);
  }

  /** The shared copy of a small value-object (at most `maxKeys` keys, at most `maxJson` characters of JSON), else the value. */
  private share<T extends object>(value: T, maxKeys: number, maxJson = 4 * MAX_POOLED_LENGTH): T {
    let keys = 0;
    for (const _ in value) if (++keys > maxKeys) return value;
    const key = JSON.stringify(value);
    if (key.length > maxJson) return value;
    const shared = this.objects.get(key);
    if (shared !== undefined) return shared as T;
    if (this.objects.size < SHARED_OBJECT_LIMIT) this.objects.set(key, value);
    return value;
  }
}
