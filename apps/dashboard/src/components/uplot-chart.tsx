import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UplotLine {
  label: string;
  stroke: string;
  dash?: number[];
}

interface UplotChartProps {
  lines: readonly UplotLine[];
  /** Times (epoch ms) first, then one column per line. */
  data: uPlot.AlignedData;
  /** A value as the axis and the legend show it. */
  format: (value: number | null) => string;
  height?: number;
}

/** Grid lines that read on the light and the dark background alike. */
const GRID = 'rgba(128, 128, 128, 0.22)';

/**
 * A uPlot time chart that follows its data: created once per set of lines, then only `setData`
 * as points arrive (uPlot redraws a canvas; React renders nothing per point). It takes the width
 * of its box and the text colour of the page, so it follows the theme on its next redraw.
 */
export function UplotChart({ lines, data, format, height = 170 }: UplotChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const text = () => getComputedStyle(element).color;
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        // Times are epoch ms, as the API gives them.
        ms: 1,
        // The legend names the lines; the latest values are in the chart's caption, as text.
        legend: { live: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        series: [
          {},
          ...lines.map((line) => ({
            label: line.label,
            stroke: line.stroke,
            width: 1.5,
            ...(line.dash && { dash: line.dash }),
            value: (_u: uPlot, value: number | null) => format(value),
          })),
        ],
        axes: [
          { stroke: text, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } },
          {
            stroke: text,
            size: 72,
            grid: { stroke: GRID, width: 1 },
            ticks: { stroke: GRID, width: 1 },
            values: (_u, splits) => splits.map((v) => format(v)),
          },
        ],
      },
      latest.current,
      element,
    );
    plot.current = chart;
    const observer = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [lines, format, height]);

  useEffect(() => {
    latest.current = data;
    plot.current?.setData(data);
  }, [data]);

  return <div className="uplot-box" ref={box} />;
}
