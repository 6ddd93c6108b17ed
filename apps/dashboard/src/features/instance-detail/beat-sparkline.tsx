import { formatDuration } from '../../utils/format-time';
import { beatGaps, median, sparklinePoints, sparklineTop } from './beat-gaps';

const WIDTH = 320;
const HEIGHT = 56;

/** Inter-arrival times of the last beats: a flat line is a steady agent, spikes are late beats. */
export function BeatSparkline({ arrivals }: { arrivals: readonly number[] }) {
  const gaps = beatGaps(arrivals);
  if (gaps.length < 2) return <p className="muted">Not enough beats yet to draw their intervals.</p>;
  const mid = median(gaps)!;
  const max = Math.max(...gaps);
  const top = sparklineTop(gaps);
  const medianY = HEIGHT - (mid / top) * HEIGHT;
  const summary = `Last ${gaps.length} beat intervals: median ${formatDuration(mid)}, longest ${formatDuration(max)}, shortest ${formatDuration(Math.min(...gaps))}`;
  return (
    <figure className="sparkline" data-testid="beat-sparkline" data-gaps={gaps.length}>
      <svg width={WIDTH} height={HEIGHT} viewBox={`-2 -2 ${WIDTH + 4} ${HEIGHT + 4}`} role="img" aria-label={summary}>
        <line className="sparkline__median" x1={0} x2={WIDTH} y1={medianY} y2={medianY} />
        <polyline className="sparkline__line" points={sparklinePoints(gaps, WIDTH, HEIGHT, top)} />
      </svg>
      <figcaption className="muted">{summary}</figcaption>
    </figure>
  );
}
