/** Figures of an instance's metrics as short text; `–` where the agent sent none. */

const NONE = '–';

/** Bytes in binary units, three digits at most: `512 B`, `48.2 MiB`, `150 MiB`, `1.50 GiB`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return NONE;
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** A percentage: `0.4 %`, `87 %`, `250 %` (CPU counts one core as 100 %, so it can pass 100). */
export function formatPercent(percent: number | null): string {
  if (percent === null) return NONE;
  if (percent === 0) return '0 %';
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)} %`;
}

/** Event-loop delays: `0.42 ms`, `12.5 ms`, `2,040 ms`. */
export function formatMs(ms: number | null): string {
  if (ms === null) return NONE;
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString('en')} ms`;
}

/** Heap used as a share of the heap limit, or null when either is unknown. */
export function heapShare(heapUsed: number | null, heapLimit: number | null): number | null {
  if (heapUsed === null || heapLimit === null || heapLimit <= 0) return null;
  return Math.min(100, (heapUsed / heapLimit) * 100);
}
