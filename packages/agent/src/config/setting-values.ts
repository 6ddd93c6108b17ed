import { LIMITS, PLUGIN_SETTING_TYPES } from '../protocol';
import type { SettingDeclaration, SettingDeclarations, SettingType, SettingValue } from '../services/config-service';

/** A set of settings' values by name, as the agent keeps them: frozen, lists too. */
export type SettingValues = Readonly<Record<string, SettingValue>>;

/** The protocol's rule for a setting's name (plugin-ops.ts), so that a declared setting always fits in a beat. */
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/**
 * Most a plugin's declarations may weigh as JSON. Every full beat carries them, and the backend
 * refuses an instance over 64 KiB (VIGIL_INSTANCE_MAX_BYTES) whole: one plugin's long defaults
 * must not cost the instance its beats.
 */
export const MAX_SETTINGS_JSON_BYTES = 16 * 1024;

/**
 * A plugin definition's `settings`, checked by hand (the agent loads no validation library) to
 * the protocol's limits, so the beat carrying them is never refused: throws naming what is wrong
 * (`settings.greeting.type must be one of ...`), which fails the plugin's load.
 */
export function checkSettingDeclarations(value: unknown): SettingDeclarations {
  if (!isPlainObject(value)) throw new TypeError('settings must be an object of setting declarations by name');
  const names = Object.keys(value);
  if (names.length > LIMITS.pluginSettings) throw new TypeError(`settings: at most ${LIMITS.pluginSettings} settings, got ${names.length}`);
  const checked: Record<string, SettingDeclaration> = {};
  for (const name of names) {
    const where = `settings.${name}`;
    if (!SETTING_NAME.test(name) || name.length > LIMITS.extInfoKeyLength) {
      throw new TypeError(
        `${where}: a setting's name starts with a letter and holds only letters, digits, _ . - (at most ${LIMITS.extInfoKeyLength})`,
      );
    }
    const declaration = value[name];
    if (!isPlainObject(declaration)) throw new TypeError(`${where} must be an object ({ type, default?, description? })`);
    const { type, description } = declaration;
    if (!PLUGIN_SETTING_TYPES.includes(type as SettingType)) {
      throw new TypeError(`${where}.type must be one of ${PLUGIN_SETTING_TYPES.join(', ')}, got ${describe(type)}`);
    }
    if (description !== undefined && (typeof description !== 'string' || description.length > LIMITS.extInfoValueLength)) {
      throw new TypeError(`${where}.description must be a string of at most ${LIMITS.extInfoValueLength} characters`);
    }
    const entry: SettingDeclaration = { type: type as SettingType };
    if ('default' in declaration && declaration.default !== undefined) {
      const problem = valueProblem(type as SettingType, declaration.default);
      if (problem !== undefined) throw new TypeError(`${where}.default: ${problem}`);
      entry.default = frozenValue(declaration.default as SettingValue);
    }
    if (description !== undefined) entry.description = description;
    checked[name] = Object.freeze(entry);
  }
  const bytes = Buffer.byteLength(JSON.stringify(checked));
  if (bytes > MAX_SETTINGS_JSON_BYTES) {
    throw new TypeError(
      `settings: ${bytes} bytes as JSON, at most ${MAX_SETTINGS_JSON_BYTES} (full beats carry them): shorten defaults and descriptions`,
    );
  }
  return Object.freeze(checked);
}

/** What is wrong with `value` as a setting of `type` (the protocol's limits included); undefined when nothing is. */
export function valueProblem(type: SettingType, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') return `expected a string, got ${describe(value)}`;
      return value.length > LIMITS.settingValueLength ? `at most ${LIMITS.settingValueLength} characters` : undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `expected a number, got ${describe(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false, got ${describe(value)}`;
    case 'string[]':
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
        return `expected a list of strings, got ${describe(value)}`;
      }
      if (value.length > LIMITS.settingListItems) return `at most ${LIMITS.settingListItems} items`;
      return value.some((item: string) => item.length > LIMITS.settingValueLength)
        ? `items of at most ${LIMITS.settingValueLength} characters`
        : undefined;
  }
}

/**
 * A value written as text (a settings file's properties): a number as a JS number literal, a
 * boolean as true/false (any case), a list as comma-separated items (trimmed, empty ones dropped:
 * an empty text is an empty list). The problem instead when the text is no such value.
 */
export function parseSettingText(type: SettingType, text: string): { value: SettingValue } | { problem: string } {
  switch (type) {
    case 'string': {
      const problem = valueProblem(type, text);
      return problem === undefined ? { value: text } : { problem };
    }
    case 'number': {
      const trimmed = text.trim();
      const value = Number(trimmed);
      return trimmed !== '' && Number.isFinite(value) ? { value } : { problem: `expected a number, got ${JSON.stringify(text)}` };
    }
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      return lower === 'true' || lower === 'false'
        ? { value: lower === 'true' }
        : { problem: `expected true or false, got ${JSON.stringify(text)}` };
    }
    case 'string[]': {
      const items = text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      const problem = valueProblem(type, items);
      return problem === undefined ? { value: Object.freeze(items) } : { problem };
    }
  }
}

/** The declared defaults, by name (settings without one are absent). */
export function defaultsOf(declarations: SettingDeclarations): SettingValues {
  const values: Record<string, SettingValue> = {};
  for (const [name, declaration] of Object.entries(declarations)) {
    if (declaration.default !== undefined) values[name] = declaration.default;
  }
  return Object.freeze(values);
}

/**
 * Checks a whole set of values against the declarations: the problems name each setting
 * (`values.slowMs: expected a number, got "fast"`); names the plugin does not declare are
 * returned apart, as `unknown`, for the caller to leave out.
 */
export function checkValues(
  declarations: SettingDeclarations,
  values: Readonly<Record<string, unknown>>,
): { problems: string[]; unknown: string[] } {
  const problems: string[] = [];
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const declaration = Object.hasOwn(declarations, name) ? declarations[name] : undefined;
    if (declaration === undefined) {
      unknown.push(name);
      continue;
    }
    const problem = valueProblem(declaration.type, value);
    if (problem !== undefined) problems.push(`values.${name}: ${problem}`);
  }
  return { problems, unknown };
}

/** A frozen copy of a value that passed valueProblem (a list is copied, so the sender cannot change it later). */
export function frozenValue(value: SettingValue): SettingValue {
  return Array.isArray(value) ? Object.freeze([...(value as string[])]) : value;
}

/** Whether two values of a setting are the same (lists item by item). */
export function sameValue(a: SettingValue | undefined, b: SettingValue | undefined): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => item === b[index]);
  return a === b;
}

/** A value as a problem names it: strings quoted and cut, numbers and booleans as they are, others by kind. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
