import { useMemo } from 'react';
import { useLive, useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { routeHref } from '../../routing/hash-route';
import { byHealth, SEVERITY, worstStatus } from './service-health';

const plural = (n: number, word: string) => `${n.toLocaleString('en')} ${n === 1 ? word : `${word}s`}`;

/** The alarms, counted over the fleet in large type, zero included: "0 unhealthy" is news too. */
const ALARMS = ['unhealthy', 'lost', 'suspect'] as const;

/**
 * `/wallboard`: the fleet's unhealthy, lost and suspect instances counted, then one tile per
 * service, coloured by its worst instance, with counts by status,
 * in type large enough to read from across a room (Spring Boot Admin's wallboard is the model).
 */
export function WallboardPage() {
  useLiveView(FLEET_VIEW);
  const services = useLive((s) => s.services);
  const counts = useLive((s) => s.counts);
  const tiles = useMemo(() => byHealth(services), [services]);

  if (counts === null) return <p className="empty-state">Loading…</p>;
  if (tiles.length === 0) return <p className="empty-state">No services yet.</p>;
  const troubled = tiles.filter((t) => worstStatus(t) !== 'healthy' && worstStatus(t) !== 'offline').length;
  return (
    <div className="page page--wallboard">
      <p className="wallboard-summary" data-testid="wallboard-summary">
        {plural(counts.services, 'service')}, {plural(counts.instances, 'instance')}
        {troubled > 0 ? ` — ${troubled} ${troubled === 1 ? 'service needs' : 'services need'} attention` : ' — all healthy'}
      </p>
      <ul className="wallboard-alarms" aria-label="Instances in trouble">
        {ALARMS.map((status) => (
          <li key={status} className={`wallboard-alarm${counts.byStatus[status] > 0 ? ` wallboard-alarm--${status}` : ''}`}>
            <a href={routeHref('/', new URLSearchParams({ status }))} data-testid={`wallboard-${status}`}>
              <span className="wallboard-alarm__value">{counts.byStatus[status].toLocaleString('en')}</span>
              <span className="wallboard-alarm__label">{status}</span>
            </a>
          </li>
        ))}
      </ul>
      <ul className="wallboard">
        {tiles.map((tile) => {
          const worst = worstStatus(tile);
          return (
            <li
              key={tile.service}
              className={`tile tile--${worst}`}
              data-testid="service-tile"
              data-service={tile.service}
              data-status={worst}
            >
              <a className="tile__link" href={routeHref('/', new URLSearchParams({ service: tile.service }))}>
                <span className="tile__name">{tile.service}</span>
                <span className="tile__status">{worst}</span>
                <span className="tile__total">{plural(tile.instances, 'instance')}</span>
                <span className="tile__counts">
                  {SEVERITY.filter((status) => tile.byStatus[status] > 0).map((status) => (
                    <span key={status} className="tile__count">
                      {tile.byStatus[status]} {status}
                    </span>
                  ))}
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
