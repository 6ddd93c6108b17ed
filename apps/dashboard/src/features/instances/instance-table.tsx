import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { InstanceSortKey } from '@vigil/protocol';
import type { InstanceWindowState } from '../../live/live-store';
import { effectiveOrder, type InstanceFilters } from './instance-filters';
import { COLUMN_COUNT, InstanceRow, PlaceholderRow } from './instance-row';
import { renderedRange, ROW_HEIGHT } from './window-range';

interface InstanceTableProps {
  filters: InstanceFilters;
  /** The loaded part of the list, null before the first one arrives. */
  loaded: InstanceWindowState | null;
  onSort: (sort: InstanceSortKey) => void;
  /** Tells the page which row is at the top, so it can move the backend window along. */
  onFirstVisibleRow: (row: number) => void;
  /** Shown instead of the table when the list is empty. */
  empty: ReactNode;
}

const COLUMNS: { label: string; className: string; sort?: InstanceSortKey; title?: string }[] = [
  { label: 'Status', className: 'col-status', sort: 'status' },
  { label: 'Health', className: 'col-health', title: 'What the instance says of its own health, and the failing indicators' },
  { label: 'Service', className: 'col-service', sort: 'service' },
  { label: 'App', className: 'col-app', sort: 'appName' },
  { label: 'Host', className: 'col-host', sort: 'hostName' },
  { label: 'CPU', className: 'col-cpu', sort: 'cpu', title: 'CPU since the previous beat, % of one core' },
  { label: 'Memory', className: 'col-memory', sort: 'rss', title: 'Resident set size; the bar is the heap used of its limit' },
  {
    label: 'Loop p99',
    className: 'col-loop',
    sort: 'eventLoopDelayP99',
    title: 'Event-loop delay since the previous beat, 99th percentile',
  },
  { label: 'IPs', className: 'col-ips' },
  { label: 'PID', className: 'col-pid' },
  { label: 'Agent', className: 'col-version' },
  { label: 'Plugins', className: 'col-plugins' },
  { label: 'Ext-info', className: 'col-ext-info' },
  { label: 'Last heartbeat', className: 'col-heartbeat', sort: 'lastHeartbeatTime' },
];

/**
 * The instance list as a virtual table: only the rows in view (and a few more) are in the DOM,
 * each of a fixed height, with spacers standing in for the rest, so 10,000 rows or 300,000 scroll
 * the same. Rows outside the loaded window show as placeholders until it arrives.
 */
export function InstanceTable({ filters, loaded, onSort, onFirstVisibleRow, empty }: InstanceTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ scrollTop: 0, height: 800 });
  const total = loaded?.total ?? 0;

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setViewport({ scrollTop: element.scrollTop, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    element.addEventListener('scroll', measure, { passive: true });
    return () => {
      observer.disconnect();
      element.removeEventListener('scroll', measure);
    };
  }, []);

  const firstVisible = Math.floor(viewport.scrollTop / ROW_HEIGHT);
  useEffect(() => onFirstVisibleRow(firstVisible), [firstVisible, onFirstVisibleRow]);

  const { first, last } = renderedRange(viewport.scrollTop, viewport.height, total);
  const rows: ReactNode[] = [];
  for (let index = first; index < last; index++) {
    const id = loaded && index >= loaded.offset ? loaded.ids[index - loaded.offset] : undefined;
    const instance = id === undefined ? undefined : loaded?.rows.get(id);
    rows.push(
      instance ? (
        <InstanceRow key={instance.instanceId} instance={instance} index={index} />
      ) : (
        <PlaceholderRow key={`row-${index}`} index={index} />
      ),
    );
  }
  const order = effectiveOrder(filters);

  return (
    <div className="table-scroll" ref={scroller} tabIndex={0} role="region" aria-label="Instances">
      <table className="data-table instance-table" aria-rowcount={total + 1} data-testid="instance-table" data-total={total}>
        {/* Fixed widths (with `table-layout: fixed`) keep columns still while data streams in. */}
        <colgroup>
          {COLUMNS.map((column) => (
            <col key={column.label} className={column.className} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            {COLUMNS.map((column) => {
              const active = column.sort !== undefined && filters.sort === column.sort;
              return (
                <th
                  key={column.label}
                  scope="col"
                  title={column.title}
                  aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : undefined}
                >
                  {column.sort ? (
                    <button type="button" className="sort-button" onClick={() => onSort(column.sort!)} data-testid={`sort-${column.sort}`}>
                      {column.label}
                      <span className="sort-arrow" aria-hidden="true">
                        {active ? (order === 'asc' ? '▲' : '▼') : ''}
                      </span>
                    </button>
                  ) : (
                    column.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr aria-hidden="true" className="spacer-row">
              <td colSpan={COLUMN_COUNT} style={{ height: first * ROW_HEIGHT }} />
            </tr>
          )}
          {rows}
          {last < total && (
            <tr aria-hidden="true" className="spacer-row">
              <td colSpan={COLUMN_COUNT} style={{ height: (total - last) * ROW_HEIGHT }} />
            </tr>
          )}
        </tbody>
      </table>
      {loaded !== null && total === 0 && empty}
    </div>
  );
}
