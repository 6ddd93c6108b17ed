import { useCallback, useMemo, useState } from 'react';
import type { InstanceSortKey, InstanceStatus } from '@vigil/protocol';
import { useLive, useLiveView } from '../../live/live-context';
import { navigate } from '../../routing/hash-route';
import { CountCards } from '../overview/count-cards';
import {
  filtersFromParams,
  hasFilters,
  paramsFromFilters,
  sortedBy,
  windowOf,
  withoutFilters,
  type InstanceFilters,
} from './instance-filters';
import { InstanceFilterBar } from './instance-filter-bar';
import { InstanceTable } from './instance-table';
import { WINDOW_ROWS, windowOffsetFor } from './window-range';

/** `/`: fleet counts and the live instance table, filtered and sorted by the backend, filters in the URL. */
export function InstancesPage({ params }: { params: URLSearchParams }) {
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const filterKey = paramsFromFilters(filters).toString();
  // The scroll position belongs to one list: another filter starts at the top.
  const [scroll, setScroll] = useState({ filterKey, firstVisible: 0 });
  const firstVisible = scroll.filterKey === filterKey ? scroll.firstVisible : 0;
  useLiveView({ window: windowOf(filters, windowOffsetFor(firstVisible), WINDOW_ROWS), watch: [] });

  const counts = useLive((s) => s.counts);
  const services = useLive((s) => s.services);
  const plugins = useLive((s) => s.plugins);
  const loaded = useLive((s) => s.window);
  const viewSynced = useLive((s) => s.viewSynced);
  const viewError = useLive((s) => s.viewError);
  const serviceNames = useMemo(() => services.map((s) => s.service), [services]);
  const pluginNames = useMemo(() => [...new Set(plugins.map((p) => p.plugin))], [plugins]);

  const setFilters = useCallback(
    (next: InstanceFilters, options?: { replace?: boolean }) => navigate('/', paramsFromFilters(next), options),
    [],
  );
  const onFirstVisibleRow = useCallback((row: number) => setScroll({ filterKey, firstVisible: row }), [filterKey]);
  const onSort = useCallback((sort: InstanceSortKey) => setFilters(sortedBy(filters, sort)), [filters, setFilters]);
  const toggleStatus = (status: InstanceStatus) =>
    setFilters({ ...filters, status: filters.status.length === 1 && filters.status[0] === status ? [] : [status] });

  const total = loaded?.total;
  return (
    <div className="page page--instances">
      <CountCards counts={counts} activeStatuses={filters.status} onToggleStatus={toggleStatus} />
      <InstanceFilterBar filters={filters} services={serviceNames} plugins={pluginNames} onChange={setFilters} />
      <p className="result-line" data-testid="result-line" aria-live="polite">
        {viewError
          ? `The backend refused this view: ${viewError}`
          : total === undefined
            ? 'Loading…'
            : `${total.toLocaleString('en')} ${total === 1 ? 'instance' : 'instances'}${hasFilters(filters) ? ' match' : ''}${viewSynced ? '' : ' (updating…)'}`}
      </p>
      <InstanceTable
        key={filterKey}
        filters={filters}
        loaded={loaded}
        onSort={onSort}
        onFirstVisibleRow={onFirstVisibleRow}
        empty={
          hasFilters(filters) ? (
            <p className="empty-state">
              No instance matches these filters.{' '}
              <button type="button" className="link-button" onClick={() => setFilters(withoutFilters(filters))}>
                Clear filters
              </button>
            </p>
          ) : (
            <p className="empty-state">
              No instances yet. Attach the agent: <code>node --import @vigil/agent/register app.mjs</code>
            </p>
          )
        }
      />
    </div>
  );
}
