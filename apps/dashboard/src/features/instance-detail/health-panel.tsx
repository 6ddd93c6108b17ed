import type { HealthReport } from '@vigil/protocol';
import { HealthBadge } from '../../components/health-badge';
import { indicatorsWorstFirst } from '../health/health-summary';

/** The instance's own health: the worst indicator's status, then every indicator with its details, worst first. */
export function HealthPanel({ health }: { health: HealthReport | null }) {
  if (health === null) {
    return <p className="muted">Not reported: this instance's agent sends no health indicators.</p>;
  }
  const indicators = indicatorsWorstFirst(health);
  return (
    <>
      <p data-testid="detail-health">
        <HealthBadge health={health} />
      </p>
      {indicators.length === 0 ? (
        <p className="muted">No indicators.</p>
      ) : (
        <table className="data-table indicator-table">
          <thead>
            <tr>
              <th scope="col">Indicator</th>
              <th scope="col">Status</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {indicators.map(([name, indicator]) => (
              <tr key={name} data-testid="indicator-row" data-indicator={name} data-status={indicator.status}>
                <th scope="row">{name}</th>
                <td>
                  <span className={`health-badge health-badge--${indicator.status}`}>{indicator.status}</span>
                </td>
                <td>
                  {indicator.details && Object.keys(indicator.details).length > 0 ? (
                    <ul className="chips chips--wrap">
                      {Object.entries(indicator.details).map(([key, value]) => (
                        <li key={key} className="chip chip--ext">
                          {key}={value}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
