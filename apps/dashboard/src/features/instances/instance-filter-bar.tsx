import { useEffect, useState } from 'react';
import { INSTANCE_STATUSES, type HealthStatus, type InstanceStatus } from '@vigil/protocol';
import { HEALTH_FILTER_ORDER, hasFilters, withoutFilters, type InstanceFilters } from './instance-filters';

interface InstanceFilterBarProps {
  filters: InstanceFilters;
  /** Known service and plugin names, for the pickers. */
  services: readonly string[];
  plugins: readonly string[];
  /** `replace`: a keystroke in the search box rewrites the history entry instead of adding one. */
  onChange: (filters: InstanceFilters, options?: { replace?: boolean }) => void;
}

/** Waits this long after the last keystroke before searching, so typing does not query per key. */
const SEARCH_DELAY_MS = 250;

/** Options for a picker: the known names, plus the selected one if it is not (yet) among them. */
function optionsWith(names: readonly string[], selected: string | null): readonly string[] {
  return selected === null || names.includes(selected) ? names : [selected, ...names];
}

export function InstanceFilterBar({ filters, services, plugins, onChange }: InstanceFilterBarProps) {
  const [text, setText] = useState(filters.q);
  // The URL may change under us (back button, a shared link): the box follows it, adjusted while
  // rendering (React's pattern for state that follows a prop) rather than in an effect.
  const [shownQ, setShownQ] = useState(filters.q);
  if (shownQ !== filters.q) {
    setShownQ(filters.q);
    setText(filters.q);
  }
  useEffect(() => {
    if (text === filters.q) return;
    const timer = setTimeout(() => onChange({ ...filters, q: text }, { replace: true }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, filters, onChange]);

  const toggleStatus = (status: InstanceStatus) =>
    onChange({
      ...filters,
      status: filters.status.includes(status)
        ? filters.status.filter((s) => s !== status)
        : INSTANCE_STATUSES.filter((s) => s === status || filters.status.includes(s)),
    });

  const toggleHealth = (health: HealthStatus) =>
    onChange({
      ...filters,
      health: filters.health.includes(health)
        ? filters.health.filter((h) => h !== health)
        : HEALTH_FILTER_ORDER.filter((h) => h === health || filters.health.includes(h)),
    });

  return (
    <form className="filter-bar" role="search" aria-label="Filter instances" onSubmit={(e) => e.preventDefault()}>
      <label className="field">
        <span className="field__label">Service</span>
        <select
          data-testid="filter-service"
          value={filters.service ?? ''}
          onChange={(e) => onChange({ ...filters, service: e.target.value || null })}
        >
          <option value="">All services</option>
          {optionsWith(services, filters.service).map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <fieldset className="field status-filter">
        <legend className="field__label">Status</legend>
        {INSTANCE_STATUSES.map((status) => (
          <label key={status} className={`toggle toggle--${status}`}>
            <input
              type="checkbox"
              data-testid={`filter-status-${status}`}
              checked={filters.status.includes(status)}
              onChange={() => toggleStatus(status)}
            />
            {status}
          </label>
        ))}
      </fieldset>
      <fieldset className="field status-filter">
        <legend className="field__label">Health</legend>
        {HEALTH_FILTER_ORDER.map((health) => (
          <label key={health} className={`toggle toggle--health-${health}`}>
            <input
              type="checkbox"
              data-testid={`filter-health-${health}`}
              checked={filters.health.includes(health)}
              onChange={() => toggleHealth(health)}
            />
            {health}
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span className="field__label">Plugin</span>
        <select
          data-testid="filter-plugin"
          value={filters.plugin ?? ''}
          onChange={(e) => onChange({ ...filters, plugin: e.target.value || null })}
        >
          <option value="">Any plugin</option>
          {optionsWith(plugins, filters.plugin).map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label className="field field--grow">
        <span className="field__label">Search</span>
        <input
          type="search"
          data-testid="filter-text"
          placeholder="host, IP, instance id, service"
          value={text}
          maxLength={256}
          onChange={(e) => setText(e.target.value)}
        />
      </label>
      <button
        type="button"
        className="button button--quiet"
        disabled={!hasFilters(filters)}
        onClick={() => onChange(withoutFilters(filters))}
      >
        Clear filters
      </button>
    </form>
  );
}
