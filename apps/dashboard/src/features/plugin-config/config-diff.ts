import type { SettingValue, SettingValues } from '@vigil/protocol';

export type Change = 'added' | 'removed' | 'changed' | 'same';

export interface DiffRow {
  name: string;
  from: SettingValue | undefined;
  to: SettingValue | undefined;
  change: Change;
}

const collator = new Intl.Collator('en', { numeric: true });
const same = (a: SettingValue, b: SettingValue) => JSON.stringify(a) === JSON.stringify(b);

/** Setting by setting, what changes from one set of values to another, A-Z. */
export function diffValues(from: SettingValues, to: SettingValues): DiffRow[] {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort(collator.compare);
  return names.map((name) => {
    const a = from[name];
    const b = to[name];
    const change: Change = a === undefined ? 'added' : b === undefined ? 'removed' : same(a, b) ? 'same' : 'changed';
    return { name, from: a, to: b, change };
  });
}
