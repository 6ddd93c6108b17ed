import { useState } from 'react';
import { EventTable } from '../../components/event-table';
import { RelativeTime } from '../../components/relative-time';
import { useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { routeHref } from '../../routing/hash-route';
import { AppliedPanel } from './applied-panel';
import { ConfigForm } from './config-form';
import { ConfigHistory } from './config-history';
import { configHref, type ConfigScope } from './config-route';
import { usePluginConfig } from './use-plugin-config';

/** Config events listed under the history. */
const EVENTS_SHOWN = 10;

/**
 * `/services/:service/plugins/:plugin/config` and `/instances/:id/plugins/:plugin/config`: the
 * plugin's settings as a form (for an instance: overrides of single settings over the service's
 * values), which instances applied which version and which refused one, the history with who
 * changed what, a diff against the current version, and rollback.
 */
export function PluginConfigPage({ scope }: { scope: ConfigScope }) {
  useLiveView(FLEET_VIEW);
  const { loaded, reload } = usePluginConfig(scope);
  const [saved, setSaved] = useState<{ version: number; how: 'saved' | 'rolled back' } | null>(null);

  if (loaded.state === 'loading') return <p className="empty-state">Loading configuration…</p>;
  if (loaded.state === 'failed')
    return (
      <p className="empty-state" role="alert">
        Cannot load the configuration of {scope.plugin}: {loaded.message}
      </p>
    );
  const { config, history, serviceConfig, events } = loaded;
  const settings = Object.keys(config.settings).length > 0 ? config.settings : (serviceConfig?.settings ?? {});
  const done = (how: 'saved' | 'rolled back') => (version: number) => {
    setSaved({ version, how });
    reload();
  };
  const serviceScope: ConfigScope = { kind: 'service', service: config.service, plugin: config.plugin };

  return (
    <div className="page page--config" data-testid="config-page" data-plugin={config.plugin}>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={routeHref('/plugins')}>Plugins</a> / <a href={configHref(serviceScope)}>{config.service}</a>
        {scope.kind === 'instance' && (
          <>
            {' '}
            / <a href={routeHref(`/instances/${encodeURIComponent(scope.instanceId)}`)}>{scope.instanceId}</a>
          </>
        )}
      </nav>
      <header className="detail-header">
        <h2>
          {config.plugin} <span className="muted">configuration for</span>{' '}
          {scope.kind === 'service' ? config.service : <code>{scope.instanceId}</code>}
        </h2>
        <span className="tag" data-testid="config-version">
          {config.version === 0 ? 'no version yet' : `version ${config.version}`}
        </span>
        {config.updatedAt !== null && (
          <span className="muted">
            by {config.updatedBy ?? 'unknown'}, <RelativeTime time={config.updatedAt} />
          </span>
        )}
        {saved && (
          <span className="outcome outcome--ok" role="status" data-testid="config-saved">
            {saved.how === 'saved' ? 'Saved' : 'Rolled back'} as version {saved.version}
          </span>
        )}
      </header>

      <section className="panel" aria-labelledby="applied-title">
        <h3 id="applied-title">Applied</h3>
        <AppliedPanel applied={config.applied} version={config.version} />
      </section>

      <section className="panel" aria-labelledby="settings-title">
        <h3 id="settings-title">{scope.kind === 'service' ? 'Settings' : 'Overrides on this instance'}</h3>
        {scope.kind === 'instance' && (
          <p className="muted">
            A setting not overridden takes the service&apos;s value (<a href={configHref(serviceScope)}>edit the service&apos;s</a>).
          </p>
        )}
        {Object.keys(settings).length === 0 ? (
          <p className="muted" data-testid="no-settings">
            No running instance of {config.service} reports settings for {config.plugin}: the form is built from what the plugin declares.
          </p>
        ) : (
          <ConfigForm
            key={`${config.version}:${serviceConfig?.version ?? ''}`}
            scope={scope}
            settings={settings}
            values={config.values}
            inherited={serviceConfig?.values ?? null}
            onSaved={done('saved')}
          />
        )}
      </section>

      <section className="panel" aria-labelledby="history-title">
        <h3 id="history-title">History</h3>
        <ConfigHistory scope={scope} history={history} onRolledBack={done('rolled back')} />
      </section>

      <section className="panel" aria-labelledby="config-events-title">
        <h3 id="config-events-title">Config events</h3>
        {events.length === 0 ? <p className="muted">None yet.</p> : <EventTable events={events.slice(0, EVENTS_SHOWN)} />}
      </section>
    </div>
  );
}
