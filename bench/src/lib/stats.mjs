/** Small statistics helpers: percentiles of plain arrays, medians, formatting. */

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = values instanceof Float64Array ? values.slice().sort() : Float64Array.from(values).sort();
  // Nearest rank, so p99 of 100 values is the 99th, never an interpolation below the data.
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(values) {
  if (values.length === 0) return { count: 0, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    min: sorted[0],
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

export function median(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds for display: integers above 100, one decimal above 10, two below. */
export function fmt(value, digits) {
  if (!Number.isFinite(value)) return 'n/a';
  if (digits !== undefined) return value.toFixed(digits);
  const abs = Math.abs(value);
  if (abs >= 100) return String(Math.round(value));
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export const MiB = 1024 * 1024;
export const mib = (bytes) => bytes / MiB;

/**
 * A percentile-bootstrap confidence interval of the median: `[low, high]` at `level` (0.95),
 * from `resamples` resamples drawn with a fixed seed, so a run's printed interval is repeatable.
 */
export function medianCi(values, { level = 0.95, resamples = 2000 } = {}) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return [NaN, NaN];
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const medians = [];
  const sample = new Array(finite.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < finite.length; i++) sample[i] = finite[Math.floor(random() * finite.length)];
    medians.push(median(sample));
  }
  medians.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return [medians[Math.floor(tail * resamples)], medians[Math.ceil((1 - tail) * resamples) - 1]];
}
