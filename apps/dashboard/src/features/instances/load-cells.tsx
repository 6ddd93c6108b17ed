import type { InstanceMetrics } from '@vigil/protocol';
import { formatBytes, formatMs, formatPercent, heapShare } from '../../utils/format-metrics';

/**
 * The CPU, memory and event-loop delay cells of a row: the latest figures the instance's beats
 * carried (`–` for an instance that sends none). Memory is the RSS, with the heap used against
 * its limit as a thin bar under it and in words on hover.
 */
export function LoadCells({ metrics }: { metrics: InstanceMetrics | null }) {
  const share = metrics && heapShare(metrics.heapUsed, metrics.heapLimit);
  const heap =
    metrics && share !== null
      ? `heap ${formatBytes(metrics.heapUsed)} of ${formatBytes(metrics.heapLimit)} (${formatPercent(share)})`
      : 'heap not reported';
  return (
    <>
      <td className="numeric" data-testid="cpu">
        {formatPercent(metrics?.cpu ?? null)}
      </td>
      <td className="numeric" data-testid="memory" title={metrics ? `RSS ${formatBytes(metrics.rss)}, ${heap}` : undefined}>
        <span className="memory-cell">
          {formatBytes(metrics?.rss ?? null)}
          {share !== null && share !== undefined && (
            <span className="heap-bar" role="img" aria-label={heap}>
              <span className={`heap-bar__used${share >= 90 ? ' heap-bar__used--high' : ''}`} style={{ width: `${share}%` }} />
            </span>
          )}
        </span>
      </td>
      <td className="numeric" data-testid="loop-delay">
        {formatMs(metrics?.eventLoopDelayP99 ?? null)}
      </td>
    </>
  );
}
