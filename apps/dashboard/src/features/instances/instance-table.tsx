import { memo } from 'react';
import type { Instance } from '@vigil/protocol';
import { RelativeTime } from '../../components/relative-time';
import { StatusBadge } from './status-badge';

// Chips hold no state and plugin names need not be unique, so list position is their key.

const InstanceRow = memo(function InstanceRow({ instance }: { instance: Instance }) {
  return (
    <tr data-testid="instance-row" data-instance-id={instance.instanceId}>
      <td data-testid="status">
        <StatusBadge status={instance.status} />
      </td>
      <td>{instance.service}</td>
      <td>{instance.appName}</td>
      <td>{instance.hostName}</td>
      <td className="ips">{instance.ip.length > 0 ? instance.ip.join(', ') : '—'}</td>
      <td className="numeric">{instance.processId ?? '–'}</td>
      <td>{instance.version}</td>
      <td data-testid="plugins">
        <ul className="chips">
          {instance.plugins.map((plugin, index) => (
            <li key={index} className="chip">
              {plugin.name} {plugin.version}
            </li>
          ))}
        </ul>
      </td>
      <td data-testid="ext-info">
        <ul className="chips">
          {instance.plugins.flatMap((plugin, pluginIndex) =>
            Object.entries(plugin.extInfo).map(([key, value]) => (
              <li key={`${pluginIndex}:${key}`} className="chip chip--ext" title={`${plugin.name}: ${key}=${value}`}>
                {key}={value}
              </li>
            )),
          )}
        </ul>
      </td>
      <td className="numeric">
        <RelativeTime time={instance.lastHeartbeatTime} />
      </td>
    </tr>
  );
});

/** All instances, in the order given (the store sorts them). */
export function InstanceTable({ instances }: { instances: readonly Instance[] }) {
  if (instances.length === 0) {
    return (
      <p className="empty-state">
        No instances yet. Attach the agent: <code>node --import @vigil/agent/register app.mjs</code>
      </p>
    );
  }
  return (
    <div className="table-scroll">
      <table className="instance-table">
        {/* Fixed widths (with `table-layout: fixed`) keep columns still while data streams in. */}
        <colgroup>
          <col className="col-status" />
          <col className="col-service" />
          <col className="col-app" />
          <col className="col-host" />
          <col className="col-ips" />
          <col className="col-pid" />
          <col className="col-version" />
          <col className="col-plugins" />
          <col className="col-ext-info" />
          <col className="col-heartbeat" />
        </colgroup>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Service</th>
            <th scope="col">App</th>
            <th scope="col">Host</th>
            <th scope="col">IPs</th>
            <th scope="col">PID</th>
            <th scope="col">Agent version</th>
            <th scope="col">Plugins</th>
            <th scope="col">Ext-info</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {instances.map((instance) => (
            <InstanceRow key={instance.instanceId} instance={instance} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
