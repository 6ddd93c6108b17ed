import { useEffect, useState } from 'react';
import type { InstanceMetrics, MetricsSample } from '@vigil/protocol';
import { fetchMetricsHistory } from './detail-api';
import { historySpan, withLiveSample } from './metric-series';

export type MetricsHistoryState =
  { state: 'loading' } | { state: 'failed'; message: string } | { state: 'loaded'; samples: readonly MetricsSample[]; spanMs: number };

/**
 * The instance's metrics history for the charts: loaded from the API (again on every snapshot,
 * `epoch`, so a reconnect fills what the socket missed), then extended by each live update of
 * the watched instance.
 */
export function useMetricsHistory(id: string, epoch: number, live: InstanceMetrics | null | undefined): MetricsHistoryState {
  const [history, setHistory] = useState<MetricsHistoryState>({ state: 'loading' });

  useEffect(() => {
    const abort = new AbortController();
    fetchMetricsHistory(id, abort.signal).then(
      (samples) => setHistory({ state: 'loaded', samples, spanMs: historySpan(samples) }),
      (error: unknown) => {
        if (!abort.signal.aborted) setHistory({ state: 'failed', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => abort.abort();
  }, [id, epoch]);

  useEffect(() => {
    if (!live) return;
    setHistory((current) =>
      current.state === 'loaded' ? { ...current, samples: withLiveSample(current.samples, live, current.spanMs) } : current,
    );
  }, [live]);

  return history;
}
