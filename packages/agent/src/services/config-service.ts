/**
 * The types a plugin's setting may have. Written out here rather than taken from @vigil/protocol
 * (its PLUGIN_SETTING_TYPES), which the published agent's types do not depend on.
 */
export type SettingType = 'string' | 'number' | 'boolean' | 'string[]';

/** A setting's value, as its type says (`string[]`: a list of strings). */
export type SettingValue = string | number | boolean | readonly string[];

/** One setting a plugin declares: its type, its default (none: undefined until a value is set), what it does. */
export interface SettingDeclaration {
  type: SettingType;
  default?: SettingValue;
  description?: string;
}

/** The settings a plugin declares, by name (a letter, then letters, digits, `_ . -`; at most 64). */
export type SettingDeclarations = Readonly<Record<string, SettingDeclaration>>;

type ValueOfType<T extends SettingType> = T extends 'string'
  ? string
  : T extends 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : readonly string[];

/** The value of a declared setting: of its type, or also undefined when it has no default. */
export type SettingValueOf<D extends SettingDeclaration> = D extends { default: SettingValue }
  ? ValueOfType<D['type']>
  : ValueOfType<D['type']> | undefined;

/** The values of a plugin's settings, by name. */
export type SettingValuesOf<S extends SettingDeclarations> = { readonly [K in keyof S]: SettingValueOf<S[K]> };

/**
 * Told of a new set of values, with the names of the settings that changed. Throwing, or
 * rejecting (an async listener is waited for, up to 10 s), refuses the change: the previous
 * values are restored on this instance, listeners are called again with them, and the backend
 * is told (`plugin.config-rejected`).
 */
export type ConfigListener<S extends SettingDeclarations = SettingDeclarations> = (
  values: SettingValuesOf<S>,
  changed: readonly (keyof S & string)[],
) => void | PromiseLike<void>;

/**
 * A plugin's settings, as it reads them (Sermant's dynamic configuration): the defaults it
 * declares in its definition (`settings`), then its settings file (`vigil/plugins/<name>.properties`),
 * then the values the backend delivers at run time. Fetch it with
 * `ServiceManager.getService(ConfigService)` in the plugin's code: it is that plugin's own. For
 * typed values, name the declarations: `ServiceManager.getService<ConfigService<typeof settings>>(ConfigService)`.
 * Values are read once the plugin's definition has been loaded: in hooks and listeners, not at
 * its module's top level.
 */
export abstract class ConfigService<S extends SettingDeclarations = SettingDeclarations> {
  static readonly serviceName = 'vigil.config';

  /** The current value of a declared setting (frozen); throws for a name the plugin does not declare. */
  abstract get<K extends keyof S & string>(key: K): SettingValuesOf<S>[K];

  /** Every declared setting's current value (a frozen object). */
  abstract getAll(): SettingValuesOf<S>;

  /** Calls `listener` after each change of values; returns what unsubscribes it. */
  abstract onChange(listener: ConfigListener<S>): () => void;
}
