import { useMemo } from 'react';
import type { MetricsSample } from '@vigil/protocol';
import { UplotChart } from '../../components/uplot-chart';
import { chartColumns, latestText, METRIC_CHARTS, type MetricChart } from './metric-series';

function Chart({ chart, samples }: { chart: MetricChart; samples: readonly MetricsSample[] }) {
  const data = useMemo(() => chartColumns(samples, chart), [samples, chart]);
  const titleId = `chart-${chart.id}-title`;
  return (
    <figure
      className="metric-chart"
      data-testid="metric-chart"
      data-chart={chart.id}
      data-samples={samples.length}
      aria-labelledby={titleId}
    >
      <figcaption>
        <h4 id={titleId}>{chart.title}</h4>
        <span className="metric-chart__latest" data-testid="metric-latest" aria-live="off">
          {latestText(samples, chart)}
        </span>
      </figcaption>
      {/* The canvas repeats the caption's numbers over time; the caption is what a screen reader reads. */}
      <div aria-hidden="true">
        <UplotChart lines={chart.lines} data={data} format={chart.format} />
      </div>
    </figure>
  );
}

/** CPU, memory, event-loop delay and utilization over the instance's history, extended live. */
export function MetricCharts({ samples }: { samples: readonly MetricsSample[] }) {
  if (samples.length === 0) {
    return (
      <p className="muted" data-testid="metrics-none">
        No metrics: this instance's agent does not send them (an older agent, <code>metrics.enable=false</code>, or a Nacos client).
      </p>
    );
  }
  return (
    <div className="metric-charts">
      {METRIC_CHARTS.map((chart) => (
        <Chart key={chart.id} chart={chart} samples={samples} />
      ))}
    </div>
  );
}
