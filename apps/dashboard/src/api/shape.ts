/**
 * Small checks for answers whose schema is not in @vigil/protocol: each throws with the path of
 * what does not match, which `requestJson` turns into "unexpected answer from …".
 */
export type Fields = Record<string, unknown>;

export function object(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: expected an object`);
  return value as Fields;
}

export function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${path}: expected a list`);
  return value;
}

export function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new Error(`${path}: expected a string`);
  return value;
}

export function textOrNull(value: unknown, path: string): string | null {
  return value === null || value === undefined ? null : text(value, path);
}

export function count(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new Error(`${path}: expected a whole number`);
  return value as number;
}

export function countOrNull(value: unknown, path: string): number | null {
  return value === null || value === undefined ? null : count(value, path);
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (!allowed.includes(value as T)) throw new Error(`${path}: expected one of ${allowed.join(', ')}`);
  return value as T;
}
