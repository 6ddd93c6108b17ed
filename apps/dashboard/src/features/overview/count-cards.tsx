import type { FleetCounts, InstanceStatus } from '@vigil/protocol';

const STATUS_CARDS: { status: InstanceStatus; label: string }[] = [
  { status: 'healthy', label: 'Healthy' },
  { status: 'suspect', label: 'Suspect' },
  { status: 'lost', label: 'Lost' },
  { status: 'offline', label: 'Offline' },
  { status: 'unhealthy', label: 'Unhealthy' },
];

interface CountCardsProps {
  /** Null before the first snapshot: shown as "–", never as a false 0. */
  counts: FleetCounts | null;
  /** Statuses the table is filtered by, shown pressed. */
  activeStatuses: readonly InstanceStatus[];
  /** A status card filters the table by that status (again: clears it). */
  onToggleStatus: (status: InstanceStatus) => void;
}

/** Fleet-wide counts, live: apps, services, instances, and instances by status. */
export function CountCards({ counts, activeStatuses, onToggleStatus }: CountCardsProps) {
  const value = (n: number | undefined) => (counts === null || n === undefined ? '–' : n.toLocaleString('en'));
  return (
    <section className="count-cards" aria-label="Fleet counts">
      <div className="count-card" data-testid="count-apps">
        <span className="count-card__label">Apps</span>
        <span className="count-card__value">{value(counts?.apps)}</span>
      </div>
      <div className="count-card" data-testid="count-services">
        <span className="count-card__label">Services</span>
        <span className="count-card__value">{value(counts?.services)}</span>
      </div>
      <div className="count-card" data-testid="count-total">
        <span className="count-card__label">Instances</span>
        <span className="count-card__value">{value(counts?.instances)}</span>
      </div>
      {STATUS_CARDS.map(({ status, label }) => (
        <button
          key={status}
          type="button"
          className={`count-card count-card--button count-card--${status}`}
          data-testid={`count-${status}`}
          aria-pressed={activeStatuses.includes(status)}
          title={`Show only ${status} instances`}
          onClick={() => onToggleStatus(status)}
        >
          <span className="count-card__label">{label}</span>
          <span className="count-card__value">{value(counts?.byStatus[status])}</span>
        </button>
      ))}
    </section>
  );
}
