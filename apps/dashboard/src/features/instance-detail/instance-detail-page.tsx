import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { EventRecord, Instance } from '@vigil/protocol';
import { ApiError } from '../../api/http';
import { EventTable } from '../../components/event-table';
import { RelativeTime } from '../../components/relative-time';
import { StatusBadge } from '../../components/status-badge';
import { useLive, useLiveStore, useLiveView } from '../../live/live-context';
import { routeHref } from '../../routing/hash-route';
import { formatDateTime } from '../../utils/format-time';
import { mergeEvents } from '../../utils/merge-events';
import { withArrival } from './beat-gaps';
import { BeatSparkline } from './beat-sparkline';
import { fetchInstanceDetail, fetchPluginEvents } from './detail-api';
import { HealthPanel } from './health-panel';
import { MetricCharts } from './metric-charts';
import { PluginPanel } from './plugin-panel';
import { useMetricsHistory } from './use-metrics-history';

/** Beat arrivals the sparkline shows, as many as the backend keeps. */
const ARRIVALS_KEPT = 32;
/** Events listed under the instance. */
const EVENTS_SHOWN = 30;

type Loaded =
  | { state: 'loading' }
  | { state: 'missing' }
  | { state: 'failed'; message: string }
  | { state: 'loaded'; instance: Instance; arrivals: readonly number[]; events: readonly EventRecord[] };

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="field-row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/**
 * `/instances/:id`: every field of the instance's heartbeat, its plugins with ext-info and
 * controls, metadata, the rhythm of its beats and its events. The REST detail is the starting
 * point (loaded again after a reconnect); the socket keeps the instance, its beats and its
 * events live.
 */
export function InstanceDetailPage({ id }: { id: string }) {
  useLiveView({ window: null, watch: [id] });
  const store = useLiveStore();
  const live = useLive((s) => s.watched.get(id));
  const viewSynced = useLive((s) => s.viewSynced);
  const epoch = useLive((s) => s.epoch);
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [liveEvents, setLiveEvents] = useState<readonly EventRecord[]>([]);
  const history = useMetricsHistory(id, epoch, live?.metrics);

  useEffect(
    () =>
      store.onEvents((events) => {
        const mine = events.filter((e) => e.instanceId === id);
        if (mine.length > 0) setLiveEvents((current) => [...current, ...mine]);
      }),
    [store, id],
  );

  useEffect(() => {
    const abort = new AbortController();
    Promise.all([fetchInstanceDetail(id, abort.signal), fetchPluginEvents(id, abort.signal)]).then(
      ([detail, pluginEvents]) =>
        setLoaded({
          state: 'loaded',
          instance: detail.instance,
          arrivals: detail.beatArrivals,
          events: mergeEvents(detail.events, pluginEvents),
        }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        if (error instanceof ApiError && error.status === 404) setLoaded({ state: 'missing' });
        else setLoaded({ state: 'failed', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => abort.abort();
    // The epoch changes with every snapshot, so a reconnect reloads what the socket may have missed.
  }, [id, epoch]);

  // Beats arriving live extend the sparkline.
  const lastBeat = live?.lastHeartbeatTime;
  useEffect(() => {
    if (lastBeat === undefined) return;
    setLoaded((current) =>
      current.state === 'loaded' ? { ...current, arrivals: withArrival(current.arrivals, lastBeat, ARRIVALS_KEPT) } : current,
    );
  }, [lastBeat]);

  const events = useMemo(() => mergeEvents(loaded.state === 'loaded' ? loaded.events : [], liveEvents), [loaded, liveEvents]);

  if (loaded.state === 'loading') return <p className="empty-state">Loading instance…</p>;
  if (loaded.state === 'failed')
    return (
      <p className="empty-state" role="alert">
        Cannot load this instance: {loaded.message}
      </p>
    );
  const instance = live ?? (loaded.state === 'loaded' ? loaded.instance : undefined);
  if (!instance) {
    return (
      <p className="empty-state">
        No instance <code>{id}</code>: it was removed, or never registered. <a href={routeHref('/')}>Back to all instances</a>
      </p>
    );
  }
  const removed = viewSynced && live === undefined;

  return (
    <div className="page page--detail" data-testid="instance-detail" data-instance-id={instance.instanceId}>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={routeHref('/')}>Instances</a> /{' '}
        <a href={routeHref('/', new URLSearchParams({ service: instance.service }))}>{instance.service}</a> / {instance.hostName}
      </nav>
      <header className="detail-header">
        <h2>
          {instance.service} <span className="muted">on</span> {instance.hostName}
        </h2>
        <span data-testid="detail-status">
          <StatusBadge status={instance.status} />
        </span>
        <span className="muted">
          since <RelativeTime time={instance.statusSince} />
        </span>
        {removed && <span className="outcome outcome--failed">removed from the backend: this is its last known state</span>}
      </header>

      <section className="panel" aria-labelledby="health-title">
        <h3 id="health-title">Health</h3>
        <HealthPanel health={instance.health} />
      </section>

      <section className="panel" aria-labelledby="load-title" data-testid="load-panel">
        <h3 id="load-title">Load</h3>
        {history.state === 'loading' && <p className="muted">Loading metrics…</p>}
        {history.state === 'failed' && (
          <p className="outcome outcome--failed" role="alert">
            Cannot load the metrics history: {history.message}
          </p>
        )}
        {history.state === 'loaded' && <MetricCharts samples={history.samples} />}
      </section>

      <div className="detail-grid">
        <section className="panel" aria-labelledby="heartbeat-title">
          <h3 id="heartbeat-title">Heartbeat</h3>
          <dl className="fields">
            <Field label="Instance id">
              <code>{instance.instanceId}</code>
            </Field>
            <Field label="Service">{instance.service}</Field>
            <Field label="App">{instance.appName}</Field>
            <Field label="Artifact">{instance.artifact}</Field>
            <Field label="App type">{instance.appType}</Field>
            <Field label="Host">{instance.hostName}</Field>
            <Field label="IPs">{instance.ip.join(', ') || '—'}</Field>
            <Field label="PID">{instance.processId ?? '–'}</Field>
            <Field label="Agent version">{instance.version}</Field>
            <Field label="Attached">{instance.dynamicInstall ? 'at run time' : 'at start'}</Field>
            <Field label="Source">{instance.source === 'agent' ? 'Vigil agent' : 'Nacos client'}</Field>
            <Field label="Lease">{instance.ephemeral ? 'ephemeral (kept alive by beats)' : 'persistent (health-probed)'}</Field>
            <Field label="Registered">
              <RelativeTime time={instance.registeredAt} /> <span className="muted">({formatDateTime(instance.registeredAt)})</span>
            </Field>
            <Field label="Last heartbeat">
              <span data-testid="detail-last-heartbeat">
                <RelativeTime time={instance.lastHeartbeatTime} />
              </span>{' '}
              <span className="muted">({formatDateTime(instance.lastHeartbeatTime)})</span>
            </Field>
            {instance.nacos && (
              <Field label="Nacos">
                {instance.nacos.namespaceId} / {instance.nacos.groupName} / {instance.nacos.clusterName}, port {instance.nacos.port}, weight{' '}
                {instance.nacos.weight}, {instance.nacos.enabled ? 'enabled' : 'disabled'}
              </Field>
            )}
          </dl>
        </section>

        <section className="panel" aria-labelledby="beats-title">
          <h3 id="beats-title">Beat intervals</h3>
          {loaded.state === 'loaded' && <BeatSparkline arrivals={loaded.arrivals} />}
          <h3>Metadata</h3>
          {Object.keys(instance.metadata).length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul className="chips chips--wrap">
              {Object.entries(instance.metadata).map(([key, value]) => (
                <li key={key} className="chip chip--ext">
                  {key}={value}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <section className="panel" aria-labelledby="plugins-title">
        <h3 id="plugins-title">Plugins</h3>
        <PluginPanel instance={instance} events={events} />
      </section>

      <section className="panel" aria-labelledby="events-title">
        <h3 id="events-title">
          Recent events{' '}
          <a className="small" href={routeHref('/events', new URLSearchParams({ instanceId: instance.instanceId, range: '1w' }))}>
            all events of this instance
          </a>
        </h3>
        {events.length === 0 ? (
          <p className="muted">No events.</p>
        ) : (
          <EventTable events={events.slice(0, EVENTS_SHOWN)} showInstance={false} />
        )}
      </section>
    </div>
  );
}
