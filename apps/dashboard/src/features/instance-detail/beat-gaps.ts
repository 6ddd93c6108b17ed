/** Time between consecutive beat arrivals, oldest first. */
export function beatGaps(arrivals: readonly number[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < arrivals.length; i++) gaps.push(arrivals[i]! - arrivals[i - 1]!);
  return gaps;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * SVG polyline points for values drawn left to right in a `width` x `height` box, 0 at the
 * bottom and `top` at the top.
 */
export function sparklinePoints(values: readonly number[], width: number, height: number, top: number): string {
  if (values.length === 0) return '';
  const max = Math.max(top, 1);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * height).toFixed(1)}`).join(' ');
}

/** Keeps the newest arrivals, adding a later one (a live beat) at the end. */
export function withArrival(arrivals: readonly number[], time: number, keep: number): readonly number[] {
  const last = arrivals.at(-1);
  if (last !== undefined && time <= last) return arrivals;
  return [...arrivals, time].slice(-keep);
}

/**
 * The value at the top of the sparkline: at least twice the median, so a steady rhythm draws a
 * flat line at mid-height and a late beat stands out as a spike instead of rescaling the rest.
 */
export function sparklineTop(gaps: readonly number[]): number {
  return Math.max(...gaps, 2 * (median(gaps) ?? 0), 1);
}
