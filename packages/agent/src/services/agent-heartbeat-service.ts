import { LIMITS } from '../protocol';
import type { PluginInfo } from '../protocol';
import { normalizeExtInfo } from '../heartbeat/ext-info';
import { describeError, logger } from '../logger';
import { currentPlugin } from '../plugins/plugin-context';
import { HeartbeatService, type ExtInfoProvider } from './heartbeat-service';
import type { PluginScopedService } from './service-manager';

/** Ext-info set outside any plugin's code (by the application, or the agent) is reported under this name. */
export const AGENT_PSEUDO_PLUGIN = 'agent';

interface ProviderEntry {
  provider: ExtInfoProvider;
  /** A failing provider is reported once, not on every beat. */
  warned: boolean;
}

/**
 * The running heartbeat service: it knows the loaded plugins and their ext-info providers, and
 * produces the `plugins` part of each full beat. Sending is the HeartbeatSender's job, so this
 * service exists (and setExtInfo works) even when heartbeats are disabled.
 */
export class AgentHeartbeatService extends HeartbeatService implements PluginScopedService<HeartbeatService> {
  /** Loaded plugins, name -> version, in load order. */
  private readonly plugins = new Map<string, string>();
  /**
   * Plugins switched off at run time: still listed, with `enabled: false` and no ext-info, so
   * nobody mistakes them for running (Sermant #1323 reported uninstalled ones as running) and the
   * backend can still address them to switch them back on.
   */
  private readonly disabled = new Set<string>();
  private readonly providers = new Map<string, ProviderEntry>();

  constructor(private readonly agentVersion: string) {
    super();
  }

  /**
   * Attributes the provider to the plugin whose code is running (its module loading or one of
   * its hooks); anywhere else, e.g. the application calling the API itself, to the pseudo-plugin
   * `agent`. Plugins normally call this through the bound view that getService returned them.
   */
  override setExtInfo(provider: ExtInfoProvider): void {
    this.setExtInfoOf(currentPlugin() ?? AGENT_PSEUDO_PLUGIN, provider);
  }

  forPlugin(pluginName: string): HeartbeatService {
    return new PluginHeartbeatService(this, pluginName);
  }

  setExtInfoOf(pluginName: string, provider: ExtInfoProvider): void {
    if (typeof provider !== 'function') {
      throw new TypeError('setExtInfo expects a function that returns the ext-info');
    }
    this.providers.set(pluginName, { provider, warned: false });
  }

  addPlugin(name: string, version: string): void {
    this.plugins.set(name, version);
  }

  setPluginEnabled(name: string, enabled: boolean): void {
    if (enabled) this.disabled.delete(name);
    else if (this.plugins.has(name)) this.disabled.add(name);
  }

  /** A plugin uninstalled at run time: it leaves the list, with its ext-info and its switch. */
  removePlugin(name: string): void {
    this.plugins.delete(name);
    this.disabled.delete(name);
    this.providers.delete(name);
  }

  /**
   * Keeps a plugin's ext-info provider as it is now; the function returned puts it back. For an
   * upgrade: the new version's code may set its own while loading, and the upgrade may then fail.
   */
  keepExtInfo(pluginName: string): () => void {
    const kept = this.providers.get(pluginName);
    return () => {
      if (kept === undefined) this.providers.delete(pluginName);
      else this.providers.set(pluginName, kept);
    };
  }

  /** Forgets what a plugin set while it was loading, when its load then failed. */
  discardExtInfo(pluginName: string): void {
    this.providers.delete(pluginName);
  }

  /**
   * The loaded plugins with their current ext-info (disabled ones marked `enabled: false`, their
   * providers not called), plus `agent` if anything set ext-info for it.
   */
  collectPlugins(): PluginInfo[] {
    const infos: PluginInfo[] = [...this.plugins].map(([name, version]) =>
      this.disabled.has(name) ? { name, version, extInfo: {}, enabled: false } : { name, version, extInfo: this.extInfoOf(name) },
    );
    if (this.providers.has(AGENT_PSEUDO_PLUGIN)) {
      infos.push({
        name: AGENT_PSEUDO_PLUGIN,
        version: this.agentVersion,
        extInfo: this.extInfoOf(AGENT_PSEUDO_PLUGIN),
      });
    }
    return infos.slice(0, LIMITS.plugins);
  }

  private extInfoOf(pluginName: string): Record<string, string> {
    const entry = this.providers.get(pluginName);
    if (entry === undefined) return {};
    try {
      const { info, problems } = normalizeExtInfo(entry.provider());
      if (problems.length > 0) this.warnOnce(entry, `ext-info of plugin ${pluginName} trimmed: ${problems.join('; ')}`);
      return info;
    } catch (error) {
      this.warnOnce(entry, `ext-info provider of plugin ${pluginName} failed, its ext-info is left out: ${describeError(error)}`);
      return {};
    }
  }

  private warnOnce(entry: ProviderEntry, message: string): void {
    if (entry.warned) return;
    entry.warned = true;
    logger.warn(message);
  }
}

/** The view of the heartbeat service that getService hands to one plugin. */
class PluginHeartbeatService extends HeartbeatService {
  constructor(
    private readonly service: AgentHeartbeatService,
    private readonly pluginName: string,
  ) {
    super();
  }

  override setExtInfo(provider: ExtInfoProvider): void {
    this.service.setExtInfoOf(this.pluginName, provider);
  }
}
