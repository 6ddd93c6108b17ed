import { memo } from 'react';
import type { Instance } from '@vigil/protocol';
import { HealthBadge } from '../../components/health-badge';
import { RelativeTime } from '../../components/relative-time';
import { StatusBadge } from '../../components/status-badge';
import { routeHref } from '../../routing/hash-route';
import { LoadCells } from './load-cells';
import { ROW_HEIGHT } from './window-range';

export const COLUMN_COUNT = 14;

// Chips hold no state and plugin names need not be unique, so list position is their key.

/** One instance. Memoised on the instance object: the store replaces it only when it changed. */
export const InstanceRow = memo(function InstanceRow({ instance, index }: { instance: Instance; index: number }) {
  const plugins = instance.plugins.map((p) => `${p.name} ${p.version}`);
  const extInfo = instance.plugins.flatMap((p) => Object.entries(p.extInfo).map(([key, value]) => ({ plugin: p.name, key, value })));
  const ips = instance.ip.join(', ');
  return (
    <tr
      className="instance-row"
      style={{ height: ROW_HEIGHT }}
      aria-rowindex={index + 2}
      data-testid="instance-row"
      data-instance-id={instance.instanceId}
    >
      <td data-testid="status">
        <StatusBadge status={instance.status} />
      </td>
      <td className="truncate" data-testid="health">
        <HealthBadge health={instance.health} />
      </td>
      <td className="truncate" title={instance.service}>
        {instance.service}
      </td>
      <td className="truncate" title={instance.appName}>
        {instance.appName}
      </td>
      <td className="truncate">
        <a
          href={routeHref(`/instances/${encodeURIComponent(instance.instanceId)}`)}
          title={`${instance.hostName} (${instance.instanceId}): details`}
        >
          {instance.hostName}
        </a>
      </td>
      <LoadCells metrics={instance.metrics} />
      <td className="truncate numeric" title={ips}>
        {ips || '—'}
      </td>
      <td className="numeric">{instance.processId ?? '–'}</td>
      <td className="truncate" title={instance.version}>
        {instance.version}
      </td>
      <td data-testid="plugins" title={plugins.join('\n')}>
        <ul className="chips">
          {plugins.map((label, i) => (
            <li key={i} className="chip">
              {label}
            </li>
          ))}
        </ul>
      </td>
      <td data-testid="ext-info" title={extInfo.map((e) => `${e.plugin}: ${e.key}=${e.value}`).join('\n')}>
        <ul className="chips">
          {extInfo.map((e, i) => (
            <li key={i} className="chip chip--ext">
              {e.key}={e.value}
            </li>
          ))}
        </ul>
      </td>
      <td className="numeric" data-testid="last-heartbeat">
        <RelativeTime time={instance.lastHeartbeatTime} />
      </td>
    </tr>
  );
});

/** A row whose data is on its way (scrolled into a part of the list not loaded yet): same height, no jump. */
export function PlaceholderRow({ index }: { index: number }) {
  return (
    <tr className="instance-row instance-row--placeholder" style={{ height: ROW_HEIGHT }} aria-rowindex={index + 2} aria-busy="true">
      <td colSpan={COLUMN_COUNT}>
        <span className="skeleton" />
      </td>
    </tr>
  );
}
