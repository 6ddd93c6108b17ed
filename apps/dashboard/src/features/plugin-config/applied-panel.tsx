import { routeHref } from '../../routing/hash-route';
import type { AppliedVersion } from './config-api';
import { summarizeApplied } from './applied-versions';

function InstanceLink({ id }: { id: string }) {
  return (
    <a href={routeHref(`/instances/${encodeURIComponent(id)}`)}>
      <code>{id}</code>
    </a>
  );
}

/**
 * Which instances run which version (as their beats report it), how many run the version meant
 * for them, and which refused one and kept the version they ran.
 */
export function AppliedPanel({ applied, version }: { applied: readonly AppliedVersion[]; version: number }) {
  if (applied.length === 0) return <p className="muted">No running instance reports this plugin.</p>;
  const summary = summarizeApplied(applied);
  return (
    <div data-testid="config-applied">
      <p className="result-line" data-testid="applied-summary">
        {summary.current} of {applied.length} {applied.length === 1 ? 'instance' : 'instances'} up to date
        {summary.waiting > 0 && `, ${summary.waiting} not yet`}
        {summary.refused.length > 0 && `, ${summary.refused.length} refused one`}.
      </p>
      <ul className="applied-list">
        {summary.groups.map((group) => (
          <li key={group.version} data-testid="applied-group" data-version={group.version}>
            <span className={`tag${group.version === version ? '' : ' tag--warning'}`}>
              {group.version === 0 ? 'config file and defaults' : `version ${group.version}`}
            </span>{' '}
            <span className="chips chips--wrap">
              {group.instanceIds.map((id) => (
                <InstanceLink key={id} id={id} />
              ))}
            </span>
          </li>
        ))}
      </ul>
      {summary.refused.length > 0 && (
        <ul className="applied-list">
          {summary.refused.map((r) => (
            <li key={r.instanceId} className="outcome outcome--failed" data-testid="applied-refused" data-instance-id={r.instanceId}>
              <InstanceLink id={r.instanceId} /> refused version {r.rejected} (its plugin&apos;s onChange threw) and kept version {r.kept}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
