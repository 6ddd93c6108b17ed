import { useState } from 'react';
import { ApiError } from '../../api/http';
import { RelativeTime } from '../../components/relative-time';
import { formatDateTime } from '../../utils/format-time';
import { rollbackConfig, type ConfigVersion } from './config-api';
import { diffValues } from './config-diff';
import type { ConfigScope } from './config-route';
import { formatValue } from './setting-fields';

interface ConfigHistoryProps {
  scope: ConfigScope;
  /** Newest first; the first is the current version. */
  history: readonly ConfigVersion[];
  onRolledBack: (version: number) => void;
}

function Diff({ from, to }: { from: ConfigVersion; to: ConfigVersion }) {
  const rows = diffValues(from.values, to.values);
  const changed = rows.filter((r) => r.change !== 'same').length;
  return (
    <div className="config-diff" data-testid="config-diff" data-from={from.version} data-to={to.version}>
      <h4>
        From version {from.version} to version {to.version} (current):{' '}
        {changed === 0 ? 'no change' : `${changed} ${changed === 1 ? 'setting differs' : 'settings differ'}`}
      </h4>
      <table className="data-table">
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Version {from.version}</th>
            <th scope="col">Version {to.version}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.name}
              className={`diff-row diff-row--${row.change}`}
              data-testid="diff-row"
              data-setting={row.name}
              data-change={row.change}
            >
              <th scope="row">
                {row.name} {row.change !== 'same' && <span className="tag">{row.change}</span>}
              </th>
              <td>
                <code>{formatValue(row.from)}</code>
              </td>
              <td>
                <code>{formatValue(row.to)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Every version, newest first: who saved it, when, why; a diff of any earlier version against the
 * current one; and a rollback, which saves a copy of that version's values as a new version.
 */
export function ConfigHistory({ scope, history, onRolledBack }: ConfigHistoryProps) {
  const current = history[0];
  // Null: the version before the current one.
  const [chosen, setCompared] = useState<number | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!current) return <p className="muted">No version saved yet: the instances run their config files and the defaults.</p>;
  const compared = chosen ?? history[1]?.version;
  const from = history.find((v) => v.version === compared);

  const rollback = async (version: number) => {
    setBusy(true);
    setError(null);
    try {
      onRolledBack(await rollbackConfig(scope, version));
      setConfirming(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <table className="data-table history-table" data-testid="config-history">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Saved</th>
            <th scope="col">By</th>
            <th scope="col">Comment</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {history.map((entry) => (
            <tr key={entry.version} data-testid="history-row" data-version={entry.version}>
              <th scope="row">
                {entry.version}
                {entry === current && <span className="tag">current</span>}
              </th>
              <td>
                <RelativeTime time={entry.updatedAt} /> <span className="muted">({formatDateTime(entry.updatedAt)})</span>
              </td>
              <td data-testid="history-by">{entry.updatedBy}</td>
              <td>
                {entry.comment ?? <span className="muted">—</span>}
                {entry.rollbackOf !== null && <span className="muted"> (rollback to version {entry.rollbackOf})</span>}
              </td>
              <td className="plugin-actions">
                {entry !== current && (
                  <>
                    <button
                      type="button"
                      className="button"
                      aria-pressed={compared === entry.version}
                      data-testid="history-compare"
                      onClick={() => setCompared(entry.version)}
                    >
                      Compare with current
                    </button>
                    {confirming === entry.version ? (
                      <>
                        <button
                          type="button"
                          className="button button--danger"
                          disabled={busy}
                          data-testid="history-rollback-confirm"
                          onClick={() => void rollback(entry.version)}
                        >
                          Roll back to version {entry.version}
                        </button>
                        <button type="button" className="button button--quiet" onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <button type="button" className="button" data-testid="history-rollback" onClick={() => setConfirming(entry.version)}>
                        Roll back…
                      </button>
                    )}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error && (
        <p className="field__error" role="alert" data-testid="rollback-error">
          {error}
        </p>
      )}
      {from && from !== current && <Diff from={from} to={current} />}
    </>
  );
}
