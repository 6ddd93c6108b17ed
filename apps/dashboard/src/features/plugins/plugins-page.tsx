import { useMemo, useState } from 'react';
import { useLive, useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { routeHref } from '../../routing/hash-route';
import { sendServiceCommand, type LifecycleAction } from '../plugin-commands/commands-api';
import { InstallForm } from '../plugin-commands/install-form';
import { LifecycleButtons } from '../plugin-commands/lifecycle-buttons';
import { configHref } from '../plugin-config/config-route';
import { BatchProgress, type Batch } from './batch-progress';
import { pluginMatrices } from './plugin-matrix';

/** Batches whose progress stays on the page, newest first. */
const BATCHES_SHOWN = 3;

/**
 * `/plugins`: which version of which plugin runs where, to spot version drift across the fleet;
 * install a plugin on a service, upgrade or uninstall it service by service, with the progress
 * of each instance; and each service's settings of the plugin.
 */
export function PluginsPage() {
  useLiveView(FLEET_VIEW);
  const usages = useLive((s) => s.plugins);
  const counts = useLive((s) => s.counts);
  const services = useLive((s) => s.services);
  const serviceNames = useMemo(() => services.map((s) => s.service), [services]);
  const matrices = useMemo(() => pluginMatrices(usages), [usages]);
  const [batches, setBatches] = useState<readonly Batch[]>([]);
  const drifting = matrices.filter((m) => m.drift).length;

  const send = async (plugin: string, action: LifecycleAction, service: string, version: string) => {
    const sent = await sendServiceCommand(plugin, action, service, version);
    const batch: Batch = { key: sent[0]?.id ?? `${plugin}/${service}/${Date.now()}`, action, plugin, service, version, sent };
    setBatches((current) => [batch, ...current].slice(0, BATCHES_SHOWN));
  };

  if (counts === null) return <p className="empty-state">Loading…</p>;
  return (
    <div className="page page--plugins">
      <section className="panel" aria-labelledby="install-title">
        <h3 id="install-title">Install a plugin on a service</h3>
        <InstallForm services={serviceNames} send={(plugin, version, service) => send(plugin, 'install', service, version)} />
      </section>
      {batches.map((batch) => (
        <BatchProgress key={batch.key} batch={batch} onClose={() => setBatches((current) => current.filter((b) => b !== batch))} />
      ))}
      {matrices.length === 0 ? (
        <p className="empty-state">No instance reports a plugin yet.</p>
      ) : (
        <p className="result-line">
          {matrices.length} {matrices.length === 1 ? 'plugin' : 'plugins'}
          {drifting > 0 ? `, ${drifting} running in more than one version` : ', each running in one version everywhere'}.
        </p>
      )}
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
                    <th scope="col">For the whole service</th>
                  </tr>
                </thead>
                <tbody>
                  {matrix.services.map((row) => (
                    <tr
                      key={row.service}
                      className={matrix.drift && Object.keys(row.byVersion).length > 1 ? 'matrix-row--mixed' : undefined}
                      data-testid="matrix-row"
                      data-service={row.service}
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
                      <td className="plugin-actions">
                        <LifecycleButtons
                          plugin={matrix.plugin}
                          target={`on every ${row.service} instance`}
                          send={(action, version) => send(matrix.plugin, action, row.service, version)}
                        />
                        <a
                          href={configHref({ kind: 'service', service: row.service, plugin: matrix.plugin })}
                          data-testid="matrix-config-link"
                        >
                          settings
                        </a>
                      </td>
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
                    <td />
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
