import type { Instance, PluginSettingType, SettingDeclaration, SettingValue, SettingValues } from '@vigil/protocol';

/**
 * The settings a plugin declares on a set of instances (their last full beats): each name's
 * declaration as the first instance declaring it has it, and every type some instance gives it
 * (instances running different versions of a plugin may disagree).
 */
export interface DeclaredSettings {
  settings: Record<string, SettingDeclaration>;
  types: Map<string, Set<PluginSettingType>>;
  /** How many of the instances declare the plugin's settings. */
  declaring: number;
}

export function declaredSettings(instances: Iterable<Instance>, plugin: string): DeclaredSettings {
  const settings: Record<string, SettingDeclaration> = {};
  const types = new Map<string, Set<PluginSettingType>>();
  let declaring = 0;
  for (const instance of instances) {
    const declared = instance.plugins.find((p) => p.name === plugin)?.settings;
    if (declared === undefined) continue;
    declaring++;
    for (const [name, declaration] of Object.entries(declared)) {
      settings[name] ??= declaration;
      let set = types.get(name);
      if (!set) types.set(name, (set = new Set()));
      set.add(declaration.type);
    }
  }
  return { settings, types, declaring };
}

/**
 * What is wrong with values for these declarations, each issue naming the field
 * (`values.<name>: ...`): a name no instance declares, or a value of another type than the
 * declared one (than every declared one, where instances disagree). Empty: the values fit.
 */
export function valueIssues(values: SettingValues, declared: DeclaredSettings): string[] {
  const issues: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const types = declared.types.get(name);
    if (!types) {
      const known = Object.keys(declared.settings).sort();
      issues.push(`values.${name}: not a setting of the plugin (its settings: ${known.length > 0 ? known.join(', ') : 'none'})`);
      continue;
    }
    for (const type of types) {
      if (fits(value, type)) continue;
      const why = types.size > 1 ? ` (instances declare it as ${[...types].join(' and ')})` : '';
      issues.push(`values.${name}: must be ${TYPE_WORDS[type]}, not ${describe(value)}${why}`);
      break;
    }
  }
  return issues;
}

/** Whether a value has a declared type. */
export function fits(value: SettingValue, type: PluginSettingType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

/** The values an instance is sent: those of settings it declares (another version of the plugin may have more). */
export function valuesFor(values: SettingValues, declared: Record<string, SettingDeclaration>): SettingValues {
  let kept: SettingValues | null = null;
  for (const name in values) {
    if (Object.hasOwn(declared, name)) continue;
    kept ??= { ...values };
    delete kept[name];
  }
  return kept ?? values;
}

const TYPE_WORDS: Record<PluginSettingType, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  'string[]': 'a list of strings',
};

function describe(value: SettingValue): string {
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? 'a string' : JSON.stringify(value);
}
