import { useMemo } from 'react';
import { useLive, useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { routeHref } from '../../routing/hash-route';
import { pluginMatrices } from './plugin-matrix';

/** `/plugins`: which version of which plugin runs where, to spot version drift across the fleet. */
export function PluginsPage() {
  useLiveView(FLEET_VIEW);
  const usages = useLive((s) => s.plugins);
  const counts = useLive((s) => s.counts);
  const matrices = useMemo(() => pluginMatrices(usages), [usages]);
  const drifting = matrices.filter((m) => m.drift).length;

  if (counts === null) return <p className="empty-state">Loading…</p>;
  if (matrices.length === 0) return <p className="empty-state">No instance reports a plugin yet.</p>;
  return (
    <div className="page page--plugins">
      <p className="result-line">
        {matrices.length} {matrices.length === 1 ? 'plugin' : 'plugins'}
        {drifting > 0 ? `, ${drifting} running in more than one version` : ', each running in one version everywhere'}.
      </p>
      <div className="plugin-matrices">
        {matrices.map((matrix) => (
          <section
            key={matrix.plugin}
            className="panel"
            data-testid="plugin-matrix"
            data-plugin={matrix.plugin}
            aria-labelledby={`plugin-${matrix.plugin}`}
          >
            <h3 id={`plugin-${matrix.plugin}`}>
              <a href={routeHref('/', new URLSearchParams({ plugin: matrix.plugin }))}>{matrix.plugin}</a>{' '}
              {matrix.drift ? (
                <span className="tag tag--warning">{matrix.versions.length} versions</span>
              ) : (
                <span className="tag">one version</span>
              )}
            </h3>
            <div className="matrix-scroll">
              <table className="data-table matrix">
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    {matrix.versions.map((version) => (
                      <th key={version} scope="col" className="numeric">
                        {version}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {matrix.services.map((row) => (
                    <tr
                      key={row.service}
                      className={matrix.drift && Object.keys(row.byVersion).length > 1 ? 'matrix-row--mixed' : undefined}
                    >
                      <th scope="row">{row.service}</th>
                      {matrix.versions.map((version) => {
                        const n = row.byVersion[version];
                        return (
                          <td key={version} className="numeric" data-testid="matrix-cell" data-version={version} data-service={row.service}>
                            {n ? (
                              <a
                                href={routeHref('/', new URLSearchParams({ service: row.service, plugin: matrix.plugin }))}
                                title={`${n} ${row.service} instances run ${matrix.plugin} ${version}`}
                              >
                                {n}
                              </a>
                            ) : (
                              <span className="muted">·</span>
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row">All services</th>
                    {matrix.versions.map((version) => (
                      <td key={version} className="numeric">
                        {matrix.totals[version]}
                      </td>
                    ))}
                  </tr>
                </tfoot>
              </table>
            </div>
          </section>
        ))}
      </div>
    </div>
  );
}
