/**
 * Where a process's memory goes: reads a V8 heap snapshot (from the bench probe) and sums the
 * self size of its nodes by kind: objects by constructor name, and strings, arrays, code,
 * closures... by type. Self sizes add up to the heap in use (not RSS).
 */
import { readFileSync } from 'node:fs';

export function summarizeHeap(file, { top = 15 } = {}) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta;
  const typeNames = types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const { nodes, strings } = snapshot;
  const sums = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = typeNames[nodes[i + iType]];
    const size = nodes[i + iSize];
    total += size;
    const key =
      type === 'object' ? `${strings[nodes[i + iName]]} (object)` : type === 'native' ? `${strings[nodes[i + iName]]} (native)` : type;
    const entry = sums.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += size;
    entry.count += 1;
    sums.set(key, entry);
  }
  return {
    totalBytes: total,
    kinds: [...sums]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([kind, { bytes, count }]) => ({ kind, bytes, count })),
  };
}
