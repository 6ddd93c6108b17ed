import type { ConfigDelivery } from '../protocol';
import { PluginSettings, type SettingsContext } from '../config/plugin-settings';
import { readSettingsFile } from '../config/settings-file';
import type { PluginConfigReport } from '../heartbeat/message';
import { logger } from '../logger';
import { currentPlugin } from '../plugins/plugin-context';
import { ConfigService, type ConfigListener, type SettingDeclarations, type SettingValue } from './config-service';
import type { PluginScopedService } from './service-manager';

/** Longest an async onChange listener is waited for before the change counts as refused. */
export const CONFIG_LISTENER_TIMEOUT_MS = 10_000;

/**
 * What the plugin loader does with a plugin's settings, around loading its module: the views of
 * ConfigService that the module fetches belong to this load; `declare` once the definition is
 * read (its settings file is read then); `commit` when the plugin runs (for an upgrade: when it
 * takes over, keeping the version the previous load applied), `discard` when its load failed
 * (nothing once committed).
 */
export interface SettingsLoad {
  declare(declarations: SettingDeclarations | undefined): void;
  commit(): void;
  discard(): void;
}

export interface AgentConfigServiceOptions extends Pick<SettingsContext, 'events'> {
  /** The folder of plugins' settings files (`plugins` beside config.properties). */
  settingsDir: string;
  listenerTimeoutMs?: number;
}

/**
 * The running configuration service: each plugin's settings (PluginSettings), by name. It hands
 * each plugin a view bound to its own settings, applies the backend's deliveries from beat
 * replies, and tells the heartbeat what each plugin's entry reports (settings, versions).
 */
export class AgentConfigService extends ConfigService implements PluginScopedService<ConfigService> {
  /** The settings of each running plugin. */
  private readonly current = new Map<string, PluginSettings>();
  /** The settings of a plugin whose module is loading (a new version, while the running one still runs). */
  private readonly loading = new Map<string, PluginSettings>();
  private readonly context: SettingsContext;

  constructor(private readonly options: AgentConfigServiceOptions) {
    super();
    this.context = { events: options.events, listenerTimeoutMs: options.listenerTimeoutMs ?? CONFIG_LISTENER_TIMEOUT_MS };
  }

  forPlugin(pluginName: string): ConfigService {
    const bound = this.loading.get(pluginName) ?? this.current.get(pluginName);
    // Fetched with nothing loading or running under that name: found by name at each call.
    return new PluginConfigView(bound === undefined ? () => this.settingsOf(pluginName) : () => bound);
  }

  startLoad(pluginName: string): SettingsLoad {
    const settings = new PluginSettings(pluginName, this.context);
    this.loading.set(pluginName, settings);
    let committed = false;
    const leave = () => {
      if (this.loading.get(pluginName) === settings) this.loading.delete(pluginName);
    };
    return {
      declare: (declarations = {}) => {
        const { values, warning } = readSettingsFile(this.options.settingsDir, pluginName, declarations);
        if (warning !== undefined) logger.warn(warning);
        settings.declare(declarations, values);
      },
      commit: () => {
        committed = true;
        leave();
        const previous = this.current.get(pluginName);
        if (previous !== undefined) {
          settings.adopt(previous);
          previous.detach();
        }
        this.current.set(pluginName, settings);
      },
      discard: () => {
        if (committed) return;
        leave();
        settings.detach();
      },
    };
  }

  /** Forgets an uninstalled plugin's settings: its listeners are never called again. */
  removePlugin(pluginName: string): void {
    this.current.get(pluginName)?.detach();
    this.current.delete(pluginName);
  }

  /**
   * Applies the configuration a beat reply delivers, each plugin's in turn; resolves when all are
   * applied or refused. A delivery for a plugin that is not running is ignored. Never rejects.
   */
  async deliver(deliveries: readonly ConfigDelivery[]): Promise<void> {
    await Promise.all(
      deliveries.map((delivery) => {
        const settings = this.current.get(delivery.plugin);
        if (settings !== undefined) return settings.receive(delivery);
        logger.debug(`config version ${delivery.version} for plugin ${delivery.plugin} ignored: no such plugin runs`);
        return undefined;
      }),
    );
  }

  /** What plugin `pluginName`'s entry in a full beat says of its configuration; undefined when nothing. */
  reportOf(pluginName: string): PluginConfigReport | undefined {
    return this.current.get(pluginName)?.report();
  }

  /** Outside a plugin's view: the settings of the plugin whose code is running. */
  override get(key: string): SettingValue | undefined {
    return this.running().get(key);
  }

  override getAll(): Readonly<Record<string, SettingValue | undefined>> {
    return this.running().getAll();
  }

  override onChange(listener: ConfigListener): () => void {
    return this.running().onChange(listener);
  }

  private running(): PluginSettings {
    const plugin = currentPlugin();
    if (plugin === undefined) {
      throw new Error("ConfigService holds plugins' settings: fetch it with ServiceManager.getService(ConfigService) in a plugin's code");
    }
    return this.settingsOf(plugin);
  }

  private settingsOf(pluginName: string): PluginSettings {
    const settings = this.current.get(pluginName) ?? this.loading.get(pluginName);
    if (settings === undefined) throw new Error(`no plugin named ${pluginName} is loaded, so it has no settings`);
    return settings;
  }
}

/** The view of the configuration service that getService hands to one plugin. */
class PluginConfigView extends ConfigService {
  constructor(private readonly settings: () => PluginSettings) {
    super();
  }

  override get(key: string): SettingValue | undefined {
    return this.settings().get(key);
  }

  override getAll(): Readonly<Record<string, SettingValue | undefined>> {
    return this.settings().getAll();
  }

  override onChange(listener: ConfigListener): () => void {
    return this.settings().onChange(listener);
  }
}
