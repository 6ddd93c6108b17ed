import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  InternalServerErrorException,
  NotFoundException,
  ServiceUnavailableException,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigHistory, ConfigVersion, EventRecord, Instance, PluginConfig, PluginConfigInput, SettingValues } from '@vigil/protocol';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsService } from '../events/events.service.js';
import { InstanceRegistry, type RegistryChange } from '../instances/instance-registry.js';
import { createLogger } from '../logger.js';
import { ConfigDeliveries, dueFor } from './config-deliveries.js';
import {
  emptyDocument,
  findVersion,
  historyOf,
  withChange,
  type ChangeInput,
  type ConfigChange,
  type ConfigDocument,
} from './config-document.js';
import { declaredSettings, valueIssues } from './config-validation.js';
import { instanceView, running, runs, serviceView } from './config-views.js';
import { PLUGIN_CONFIG_STORE, type PluginConfigStore } from './plugin-config-store.js';

/** Event the backend records for every change made through the API. */
export const CONFIG_CHANGED_EVENT = 'plugin.config-changed';

/** Saves tried when other replicas keep saving the same plugin's configuration first. */
const SAVE_ATTEMPTS = 5;

/** Where a change applies: a service's values of a plugin, or one instance's overrides. */
interface Scope {
  service: string;
  plugin: string;
  /** null: the service's values. */
  instance: Instance | null;
}

/**
 * Plugin configurations (docs/plugin-config.md): the API's reads and changes, saved to the data
 * dir or Redis before they count, and what each instance is due, kept in step with every change
 * of a configuration and of an instance's last full beat (ConfigDeliveries, which the beat path
 * reads). Changes run one after another, so two saves never race to the same version here.
 */
@Injectable()
export class PluginConfigService implements OnModuleInit, OnModuleDestroy {
  /** service -> plugin -> its configuration. */
  private readonly documents = new Map<string, Map<string, ConfigDocument>>();
  private readonly log: Logger;
  private unsubscribe: Array<() => void> = [];
  private lastChange: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(InstanceRegistry) private readonly registry: Pick<InstanceRegistry, 'get' | 'list' | 'onChange'>,
    @Inject(EventsService) private readonly events: Pick<EventsService, 'record'>,
    @Inject(ConfigDeliveries) private readonly deliveries: ConfigDeliveries,
    @Inject(PLUGIN_CONFIG_STORE) private readonly store: PluginConfigStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.log = createLogger(config.logLevel).child({ component: 'plugin-config' });
  }

  async onModuleInit(): Promise<void> {
    const { documents, problem } = await this.store.load();
    if (problem) this.log.error({ path: this.store.path }, problem);
    for (const document of documents) this.keep(document);
    this.unsubscribe.push(this.registry.onChange((change) => this.instanceChanged(change)));
    if (this.store.watch) this.unsubscribe.push(this.store.watch((document) => this.keep(document) && this.plan(document.service)));
    // Instances a replica mirrors before this ran (redis store) are due theirs at once.
    for (const service of this.documents.keys()) this.plan(service);
    if (documents.length > 0) this.log.info({ path: this.store.path, configs: documents.length }, 'plugin configurations loaded');
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    void this.store.close?.();
  }

  serviceConfig(service: string, plugin: string): PluginConfig {
    const instances = running(this.registry.list(), service, plugin);
    const document = this.document(service, plugin);
    if (!document && instances.length === 0) {
      throw new NotFoundException({
        error: 'unknown plugin',
        issues: [`plugin: no instance of ${service} runs ${plugin}, and it has no configuration`],
      });
    }
    return serviceView(service, plugin, document, instances);
  }

  instanceConfig(instanceId: string, plugin: string): PluginConfig {
    const instance = this.instance(instanceId, plugin);
    return instanceView(instance, plugin, this.document(instance.service, plugin));
  }

  serviceHistory(service: string, plugin: string): ConfigHistory {
    const document = this.document(service, plugin);
    return { versions: document ? historyOf(document, null) : [] };
  }

  instanceHistory(instanceId: string, plugin: string): ConfigHistory {
    const instance = this.instance(instanceId, plugin);
    const document = this.document(instance.service, plugin);
    return { versions: document ? historyOf(document, instanceId) : [] };
  }

  /** Replaces the service's values; every instance of it is due the new version. */
  async setServiceValues(service: string, plugin: string, input: PluginConfigInput, who: string): Promise<PluginConfig> {
    const scope: Scope = { service, plugin, instance: null };
    this.check(scope, input.values, 'values');
    await this.change(scope, { instanceId: null, values: input.values, updatedBy: who, comment: input.comment ?? null, rollbackOf: null });
    return this.serviceConfig(service, plugin);
  }

  /** Replaces one instance's overrides (`{}`: none, it runs with the service's values). */
  async setInstanceValues(instanceId: string, plugin: string, input: PluginConfigInput, who: string): Promise<PluginConfig> {
    const instance = this.instance(instanceId, plugin);
    const scope: Scope = { service: instance.service, plugin, instance };
    this.check(scope, input.values, 'values');
    await this.change(scope, { instanceId, values: input.values, updatedBy: who, comment: input.comment ?? null, rollbackOf: null });
    return this.instanceConfig(instanceId, plugin);
  }

  rollbackService(service: string, plugin: string, version: number, who: string): Promise<ConfigVersion> {
    return this.rollback({ service, plugin, instance: null }, version, who);
  }

  rollbackInstance(instanceId: string, plugin: string, version: number, who: string): Promise<ConfigVersion> {
    const instance = this.instance(instanceId, plugin);
    return this.rollback({ service: instance.service, plugin, instance }, version, who);
  }

  /** A new version with an earlier version's values (of the same scope), checked as a PUT would be. */
  private async rollback(scope: Scope, version: number, who: string): Promise<ConfigVersion> {
    const instanceId = scope.instance?.instanceId ?? null;
    const document = this.document(scope.service, scope.plugin);
    const earlier = document && findVersion(document, instanceId, version);
    if (!earlier) {
      const where =
        instanceId === null ? `${scope.service}'s ${scope.plugin} configuration` : `${scope.plugin}'s overrides on ${instanceId}`;
      throw new BadRequestException({ error: 'unknown version', issues: [`version: no version ${version} in the history of ${where}`] });
    }
    this.check(scope, earlier.values, `version ${version}`);
    const change = await this.change(scope, { instanceId, values: earlier.values, updatedBy: who, comment: null, rollbackOf: version });
    const { instanceId: _scope, ...made } = change;
    return made;
  }

  /** 409 while no instance declares the plugin's settings; 400 naming each value that does not fit them. */
  private check(scope: Scope, values: SettingValues, what: string): void {
    const instances = scope.instance ? [scope.instance] : running(this.registry.list(), scope.service, scope.plugin);
    const declared = declaredSettings(instances, scope.plugin);
    if (declared.declaring === 0) {
      const who = scope.instance ? `${scope.instance.instanceId} does not declare` : `no instance of ${scope.service} declares`;
      throw new ConflictException({
        error: 'settings not declared',
        issues: [`plugin: ${who} the settings of ${scope.plugin} yet: there is nothing to check values against`],
      });
    }
    const issues = valueIssues(values, declared);
    if (issues.length > 0) {
      if (what !== 'values') issues.unshift(`version: the values of ${what} do not fit the settings instances declare now`);
      throw new BadRequestException({ error: 'invalid config', issues });
    }
  }

  /**
   * Makes the next version and saves it; another replica saving the same configuration first
   * (shared stores) makes this one build on that and try again. Applied only once saved.
   */
  private change(scope: Scope, input: ChangeInput): Promise<ConfigChange> {
    const result = this.lastChange.then(async () => {
      let current = this.document(scope.service, scope.plugin) ?? emptyDocument(scope.service, scope.plugin);
      for (let attempt = 1; ; attempt++) {
        const next = withChange(current, input, this.clock.now());
        const outcome = await this.save(next, current.version);
        if (outcome === 'saved') {
          this.keep(next);
          this.plan(scope.service);
          const made = next.history[next.history.length - 1]!;
          this.events.record(changedEvent(scope, made, this.clock.now()));
          return made;
        }
        if (this.keep(outcome)) this.plan(scope.service);
        if (attempt >= SAVE_ATTEMPTS) {
          throw new ServiceUnavailableException({
            error: 'configuration busy',
            issues: ['(body): other replicas kept changing it; try again'],
          });
        }
        current = outcome;
      }
    });
    this.lastChange = result.catch(() => undefined);
    return result;
  }

  private async save(document: ConfigDocument, replaces: number): Promise<'saved' | ConfigDocument> {
    try {
      return await this.store.save(document, replaces);
    } catch (error) {
      const reason = (error as Error).message;
      this.log.error({ path: this.store.path, reason }, 'cannot save a plugin configuration: the change was not applied');
      throw new InternalServerErrorException({ error: 'cannot save the plugin configuration', path: this.store.path, reason });
    }
  }

  /** Takes a document unless a newer one of it is known; true when taken. */
  private keep(document: ConfigDocument): boolean {
    let plugins = this.documents.get(document.service);
    if (!plugins) this.documents.set(document.service, (plugins = new Map()));
    const known = plugins.get(document.plugin);
    if (known && known.version >= document.version) return false;
    plugins.set(document.plugin, document);
    return true;
  }

  /** Works out what every instance of a service is due (a configuration of it changed). */
  private plan(service: string): void {
    const documents = this.documents.get(service);
    for (const instance of this.registry.list()) {
      if (instance.service === service) this.deliveries.set(instance.instanceId, documents ? dueFor(instance, documents) : null);
    }
  }

  /**
   * Called for every change of the registry, every beat included: a plain beat returns at once;
   * an instance's new last full beat (what it declares and applied) or its removal updates what it is due.
   */
  private instanceChanged(change: RegistryChange): void {
    if (change.type === 'beat') return;
    if (change.type === 'removed') {
      this.deliveries.delete(change.instanceId);
      return;
    }
    const documents = this.documents.get(change.instance.service);
    if (documents) this.deliveries.set(change.instance.instanceId, dueFor(change.instance, documents));
    else if (this.deliveries.size > 0) this.deliveries.delete(change.instance.instanceId);
  }

  private document(service: string, plugin: string): ConfigDocument | undefined {
    return this.documents.get(service)?.get(plugin);
  }

  /** A known instance running the plugin, or 404 naming what is unknown. */
  private instance(instanceId: string, plugin: string): Instance {
    const instance = this.registry.get(instanceId);
    if (!instance) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${instanceId}`] });
    if (!runs(instance, plugin))
      throw new NotFoundException({ error: 'unknown plugin', issues: [`plugin: ${plugin} does not run on ${instanceId}`] });
    return instance;
  }
}

/** `plugin.config-changed`: which configuration, the version made, who made it and why. */
function changedEvent(scope: Scope, change: ConfigChange, now: number): Omit<EventRecord, 'id'> {
  const where = scope.instance ? `overrides of ${scope.plugin} on this instance` : `configuration of ${scope.plugin} for ${scope.service}`;
  const how = change.rollbackOf !== null ? `, a copy of version ${change.rollbackOf}` : '';
  const attributes: Record<string, string> = {
    plugin: scope.plugin,
    version: String(change.version),
    updatedBy: change.updatedBy,
    scope: scope.instance ? 'instance' : 'service',
  };
  if (change.comment !== null) attributes.comment = change.comment.slice(0, 1024);
  if (change.rollbackOf !== null) attributes.rollbackOf = String(change.rollbackOf);
  return {
    time: now,
    level: 'normal',
    type: CONFIG_CHANGED_EVENT,
    origin: 'backend',
    message: `${where}: version ${change.version} by ${change.updatedBy}${how}`,
    service: scope.service,
    ...(scope.instance && { instanceId: scope.instance.instanceId }),
    attributes,
  };
}
