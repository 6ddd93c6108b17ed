import type { HealthReport } from '@vigil/protocol';
import { failingIndicators } from '../features/health/health-summary';

/**
 * What the instance says of its own health, as a word (`up`, `degraded`, `down`), followed by
 * the failing indicators' names; `not reported` when its agent sends no health.
 */
export function HealthBadge({ health }: { health: HealthReport | null }) {
  if (health === null) return <span className="muted small">not reported</span>;
  const failing = failingIndicators(health);
  return (
    <span className="health" title={failing.length > 0 ? `${health.status}: ${failing.join(', ')}` : health.status}>
      <span className={`health-badge health-badge--${health.status}`} data-testid="health-status">
        {health.status}
      </span>
      {failing.length > 0 && (
        <span className="health__failing" data-testid="health-failing">
          {failing.join(', ')}
        </span>
      )}
    </span>
  );
}
