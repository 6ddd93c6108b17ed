import type { SettingDeclaration, SettingValue, SettingValues } from '@vigil/protocol';
import { issuesByField } from '../../api/field-issues';

/** What a form field holds: a checkbox's state, or the text typed (a list: one item per line). */
export type FieldState = string | boolean;

/** A setting's value as its field shows it. */
export function fieldOf(declaration: SettingDeclaration, value: SettingValue | undefined): FieldState {
  switch (declaration.type) {
    case 'boolean':
      return value === true;
    case 'string[]':
      return Array.isArray(value) ? value.join('\n') : '';
    default:
      return value === undefined ? '' : String(value);
  }
}

/**
 * The value a field means, as the setting's type; `undefined` leaves the setting out (an empty
 * number: its default applies). Text that is not a number goes as it is, so that the API's 400
 * names the setting rather than the form guessing.
 */
export function valueOf(declaration: SettingDeclaration, field: FieldState): SettingValue | undefined {
  if (typeof field === 'boolean') return field;
  switch (declaration.type) {
    case 'boolean':
      return field === 'true';
    case 'number': {
      const trimmed = field.trim();
      if (trimmed === '') return undefined;
      const number = Number(trimmed);
      return Number.isFinite(number) ? number : field;
    }
    case 'string[]':
      return field
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
    default:
      return field;
  }
}

/** The fields a form starts with: each setting's value, else its declared default. */
export function initialFields(settings: Readonly<Record<string, SettingDeclaration>>, values: SettingValues): Record<string, FieldState> {
  const fields: Record<string, FieldState> = {};
  for (const [name, declaration] of Object.entries(settings)) fields[name] = fieldOf(declaration, values[name] ?? declaration.default);
  return fields;
}

/** The values a form sends: the named settings' fields as their types (those left empty left out). */
export function valuesOf(
  settings: Readonly<Record<string, SettingDeclaration>>,
  fields: Readonly<Record<string, FieldState>>,
  names: Iterable<string> = Object.keys(settings),
): Record<string, SettingValue> {
  const values: Record<string, SettingValue> = {};
  for (const name of names) {
    const declaration = settings[name];
    const field = fields[name];
    if (declaration === undefined || field === undefined) continue;
    const value = valueOf(declaration, field);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/** The API's 400 issues (`values.timeoutMs: expected a number`) by the setting they name; `comment` too; others under `''`. */
export function settingIssues(issues: readonly string[], names: readonly string[]): ReadonlyMap<string, string[]> {
  return issuesByField(
    issues.map((issue) => (issue.startsWith('values.') ? issue.slice('values.'.length) : issue)),
    [...names, 'comment'],
  );
}

/** A value as the history and the diff show it: unambiguous (`"5"` is text, `5` a number). */
export const formatValue = (value: SettingValue | undefined) => (value === undefined ? '—' : JSON.stringify(value));
