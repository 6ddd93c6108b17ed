import type { ConfigDelivery } from '../protocol';
import type { AgentEvents } from '../events/agent-events';
import type { PluginConfigReport } from '../heartbeat/message';
import { describeError, logger } from '../logger';
import { runInPlugin } from '../plugins/plugin-context';
import type { ConfigListener, SettingDeclarations, SettingValue } from '../services/config-service';
import { checkValues, defaultsOf, frozenValue, sameValue, valueProblem, type SettingValues } from './setting-values';

export interface SettingsContext {
  events: Pick<AgentEvents, 'report'>;
  /** Longest an async onChange listener is waited for; one still pending then refuses the change. */
  listenerTimeoutMs: number;
}

const NOTHING: SettingValues = Object.freeze({});

/**
 * One load of one plugin's settings: what it declares, its values (defaults, then its settings
 * file, then the backend's), the configuration version it runs with and the last one it refused,
 * and its onChange listeners. A delivery from the backend is checked against the declared types
 * (any value of the wrong type refuses it whole), applied, and told to the listeners; if one
 * throws or rejects, the previous values are restored and told again. Either way the outcome is
 * an event, and the next full beat reports the version. Deliveries are applied one at a time:
 * one arriving while listeners are still being waited for is applied after them (the latest only).
 */
export class PluginSettings {
  private declarations: SettingDeclarations | undefined;
  /** The declarations as full beats carry them; undefined when the plugin declares none. */
  private wire: PluginConfigReport['settings'];
  /** Defaults, then the settings file: what the plugin runs with before (or without) the backend's values. */
  private base: SettingValues = NOTHING;
  private values: SettingValues = NOTHING;
  /** The configuration version applied: 0 while the values are the base. */
  private version = 0;
  /** The last version refused, so that the backend stops sending it; cleared when a later one applies. */
  private rejected: number | undefined;
  /** The backend's values of `version` (those the plugin declares), for an upgraded plugin to keep. */
  private delivered: SettingValues = NOTHING;
  private readonly listeners = new Set<ConfigListener>();
  private applying = false;
  private queued: ConfigDelivery | undefined;
  private detached = false;

  constructor(
    readonly pluginName: string,
    private readonly context: SettingsContext,
  ) {}

  /** Sets what the plugin declares, and its values before the backend's: the defaults, then `fileValues`. */
  declare(declarations: SettingDeclarations, fileValues: SettingValues): void {
    this.declarations = declarations;
    this.base = Object.freeze({ ...defaultsOf(declarations), ...fileValues });
    this.values = this.base;
    const names = Object.keys(declarations);
    this.wire =
      names.length === 0
        ? undefined
        : Object.fromEntries(
            names.map((name) => {
              const { type, default: value, description } = declarations[name] as SettingDeclarations[string];
              const copy = Array.isArray(value) ? [...(value as string[])] : (value as string | number | boolean | undefined);
              return [
                name,
                { type, ...(copy !== undefined && { default: copy }), ...(description !== undefined && { description }) },
              ] as const;
            }),
          );
  }

  get(key: string): SettingValue | undefined {
    const declarations = this.declared();
    if (!Object.hasOwn(declarations, key)) throw new Error(`plugin ${this.pluginName} declares no setting ${JSON.stringify(key)}`);
    return this.values[key];
  }

  getAll(): SettingValues {
    this.declared();
    return this.values;
  }

  onChange(listener: ConfigListener): () => void {
    if (typeof listener !== 'function')
      throw new TypeError('onChange expects a function, called with the new values and the names that changed');
    // Each subscription is its own, even of the same function twice.
    const entry: ConfigListener = (values, changed) => listener(values, changed);
    if (!this.detached) this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** What the plugin's entry in a full beat carries; undefined for a plugin without settings that refused nothing. */
  report(): PluginConfigReport | undefined {
    const rejected = this.rejected === undefined ? undefined : { configRejected: this.rejected };
    if (this.wire === undefined) return rejected;
    return { settings: this.wire, configVersion: this.version, ...rejected };
  }

  /** Applies a delivery from the backend (unless it is the version applied or refused already). Never rejects. */
  async receive(delivery: ConfigDelivery): Promise<void> {
    if (this.detached || delivery.version === this.version || delivery.version === this.rejected) return;
    if (this.applying) {
      this.queued = delivery;
      return;
    }
    this.applying = true;
    try {
      await this.apply(delivery);
    } catch (error) {
      logger.warn(
        { err: error },
        `config version ${delivery.version} of plugin ${this.pluginName} could not be applied: ${describeError(error)}`,
      );
    } finally {
      this.applying = false;
    }
    const next = this.queued;
    this.queued = undefined;
    if (next !== undefined) await this.receive(next);
  }

  /**
   * Takes over what the backend had set on the previous load of the same plugin (an upgrade): its
   * version and values, those that fit this load's declarations; and the version it refused.
   */
  adopt(previous: PluginSettings): void {
    this.rejected = previous.rejected;
    if (previous.version === 0 || this.declarations === undefined) return;
    const kept: Record<string, SettingValue> = {};
    const dropped: string[] = [];
    for (const [name, value] of Object.entries(previous.delivered)) {
      const declaration = Object.hasOwn(this.declarations, name) ? this.declarations[name] : undefined;
      if (declaration !== undefined && valueProblem(declaration.type, value) === undefined) kept[name] = value;
      else dropped.push(name);
    }
    this.delivered = Object.freeze(kept);
    this.values = Object.freeze({ ...this.base, ...kept });
    this.version = previous.version;
    if (dropped.length > 0) {
      logger.warn(
        `plugin ${this.pluginName}: config version ${this.version} values left out, not settings of this version: ${dropped.join(', ')}`,
      );
    }
  }

  /** This load is over (the plugin uninstalled, upgraded or failed to load): its listeners are never called again. */
  detach(): void {
    this.detached = true;
    this.listeners.clear();
    this.queued = undefined;
  }

  private declared(): SettingDeclarations {
    if (this.declarations === undefined) {
      throw new Error(
        `the settings of plugin ${this.pluginName} are known once its definition has loaded: read them in its hooks or onChange listeners, not while its module loads`,
      );
    }
    return this.declarations;
  }

  private async apply({ version, values: sent }: ConfigDelivery): Promise<void> {
    const declarations = this.declarations;
    if (declarations === undefined || this.wire === undefined)
      return this.refuse(version, `plugin ${this.pluginName} declares no settings`);
    const { problems, unknown } = checkValues(declarations, sent);
    if (problems.length > 0) return this.refuse(version, problems.join('; '));
    const delivered: Record<string, SettingValue> = {};
    for (const [name, value] of Object.entries(sent)) if (!unknown.includes(name)) delivered[name] = frozenValue(value as SettingValue);
    const previous = this.values;
    const next = Object.freeze({ ...this.base, ...delivered });
    const changed = Object.freeze(Object.keys(declarations).filter((name) => !sameValue(previous[name], next[name])));
    this.values = next;
    const failure = changed.length === 0 ? undefined : await this.tell(next, changed);
    if (this.detached) return;
    if (failure !== undefined) {
      this.values = previous;
      const again = await this.tell(previous, changed);
      if (again !== undefined)
        logger.warn(`plugin ${this.pluginName}: onChange ${again} while being given back the values of version ${this.version}`);
      return this.refuse(version, `onChange ${failure}`);
    }
    this.version = version;
    this.rejected = undefined;
    this.delivered = Object.freeze(delivered);
    const what = changed.length === 0 ? 'no value changed' : `changed: ${changed.join(', ')}`;
    const ignored = unknown.length === 0 ? '' : `; not settings of this plugin, ignored: ${unknown.join(', ')}`;
    this.context.events.report(
      'normal',
      'plugin.config-applied',
      `plugin ${this.pluginName} config version ${version} applied (${what}${ignored})`,
      {
        plugin: this.pluginName,
        version,
        ...(unknown.length > 0 && { ignored: unknown.join(',') }),
      },
    );
  }

  private refuse(version: number, reason: string): void {
    this.rejected = version;
    const message = `plugin ${this.pluginName} config version ${version} refused, version ${this.version} kept: ${reason}`;
    this.context.events.report('important', 'plugin.config-rejected', message, {
      plugin: this.pluginName,
      version,
      reason,
      kept: this.version,
    });
  }

  /** Calls every listener with `values`; the first failure, in words (`threw: ...`), or undefined when all went well. */
  private async tell(values: SettingValues, changed: readonly string[]): Promise<string | undefined> {
    let failure: string | undefined;
    const pending: Promise<void>[] = [];
    for (const listener of [...this.listeners]) {
      try {
        const result = runInPlugin(this.pluginName, () => listener(values as never, changed));
        if (isThenable(result)) {
          pending.push(
            Promise.resolve(result).then(
              () => undefined,
              (error: unknown) => void (failure ??= `rejected: ${describeError(error)}`),
            ),
          );
        }
      } catch (error) {
        failure ??= `threw: ${describeError(error)}`;
      }
    }
    if (pending.length > 0 && !(await settlesWithin(Promise.all(pending), this.context.listenerTimeoutMs))) {
      failure ??= `did not settle within ${this.context.listenerTimeoutMs} ms`;
    }
    return failure;
  }
}

/** Whether `promise` settles within `ms` (the timer does not keep the process alive). */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms).unref();
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
