import { useState } from 'react';
import type { EventRecord, Instance, PluginInfo } from '@vigil/protocol';
import { ApiError } from '../../api/http';
import { RelativeTime } from '../../components/relative-time';
import { CommandList } from '../plugin-commands/command-list';
import { isLifecycle } from '../plugin-commands/command-progress';
import { sendInstanceCommand } from '../plugin-commands/commands-api';
import { InstallForm } from '../plugin-commands/install-form';
import { LifecycleButtons } from '../plugin-commands/lifecycle-buttons';
import { usePluginCommands } from '../plugin-commands/use-plugin-commands';
import { configHref } from '../plugin-config/config-route';
import { commandOutcome } from './plugin-state';
import { sendPluginCommand, type PluginAction } from './detail-api';

/** Install, upgrade and uninstall commands listed under the plugins, newest first. */
const COMMANDS_SHOWN = 10;

/** Where a plugin command stands, as the user last asked it. */
type CommandState =
  | { phase: 'sending'; action: PluginAction }
  | { phase: 'queued'; action: PluginAction; commandId: string }
  | { phase: 'refused'; action: PluginAction; message: string };

interface PluginPanelProps {
  instance: Instance;
  /** The instance's events (plugin commands' outcomes among them), live. */
  events: readonly EventRecord[];
}

function Outcome({ state, events }: { state: CommandState; events: readonly EventRecord[] }) {
  if (state.phase === 'sending') return <span className="outcome outcome--pending">sending…</span>;
  if (state.phase === 'refused') return <span className="outcome outcome--failed">refused: {state.message}</span>;
  const outcome = commandOutcome(state.commandId, events);
  if (!outcome) return <span className="outcome outcome--pending">queued: the agent gets it with its next beat…</span>;
  return (
    <span className={`outcome ${outcome.ok ? 'outcome--ok' : 'outcome--failed'}`}>
      agent: {outcome.message} (<RelativeTime time={outcome.time} />)
    </span>
  );
}

/** The configuration version the plugin runs, a version it refused, and the links to the service's settings and this instance's overrides. */
function ConfigCell({ instance, plugin }: { instance: Instance; plugin: PluginInfo }) {
  if (!plugin.settings || Object.keys(plugin.settings).length === 0) return <span className="muted">no settings</span>;
  return (
    <span className="plugin-config">
      <span className="tag" data-testid="plugin-config-version">
        {plugin.configVersion ? `version ${plugin.configVersion}` : 'config file'}
      </span>
      {plugin.configRejected !== undefined && (
        <span className="outcome outcome--failed" data-testid="plugin-config-rejected">
          refused version {plugin.configRejected}
        </span>
      )}
      <a href={configHref({ kind: 'service', service: instance.service, plugin: plugin.name })} data-testid="plugin-config-link">
        service settings
      </a>
      <a href={configHref({ kind: 'instance', instanceId: instance.instanceId, plugin: plugin.name })} data-testid="plugin-overrides-link">
        overrides here
      </a>
    </span>
  );
}

/**
 * The instance's plugins with their ext-info (a plugin switched off is listed as disabled, as
 * its agent reports it), their configuration, and controls: disable / enable, upgrade,
 * uninstall, and a form to install one. A command goes out with the reply to the agent's next
 * beat; the outcome shown is the agent's own event carrying the command id, not a guess.
 */
export function PluginPanel({ instance, events }: PluginPanelProps) {
  const [commands, setCommands] = useState<ReadonlyMap<string, CommandState>>(new Map());
  const canCommand = instance.source === 'agent';
  const lifecycle = usePluginCommands(canCommand ? { instanceId: instance.instanceId } : null);
  const sendLifecycle = async (plugin: string, action: 'install' | 'upgrade' | 'uninstall', version: string) =>
    lifecycle.track(await sendInstanceCommand(instance.instanceId, plugin, action, version));

  const send = async (plugin: string, action: PluginAction) => {
    const update = (state: CommandState) => setCommands((current) => new Map(current).set(plugin, state));
    update({ phase: 'sending', action });
    try {
      const command = await sendPluginCommand(instance.instanceId, plugin, action);
      update({ phase: 'queued', action, commandId: command.id });
    } catch (error) {
      update({ phase: 'refused', action, message: error instanceof ApiError ? error.message : String(error) });
    }
  };

  const row = (plugin: PluginInfo) => {
    const { name, version, extInfo, enabled } = plugin;
    const state = commands.get(name);
    const isDisabled = enabled === false;
    const action: PluginAction = isDisabled ? 'enable' : 'disable';
    return (
      <tr key={name} data-testid="plugin-row" data-plugin={name}>
        <th scope="row">{name}</th>
        <td>
          {version}
          {isDisabled && (
            <>
              {' '}
              <span className="muted" data-testid="plugin-disabled">
                disabled
              </span>
            </>
          )}
        </td>
        <td>
          {Object.keys(extInfo).length > 0 ? (
            <ul className="chips chips--wrap">
              {Object.entries(extInfo).map(([key, value]) => (
                <li key={key} className="chip chip--ext">
                  {key}={value}
                </li>
              ))}
            </ul>
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td>
          <ConfigCell instance={instance} plugin={plugin} />
        </td>
        <td className="plugin-actions">
          {canCommand && (
            <button
              type="button"
              className={`button ${isDisabled ? '' : 'button--danger'}`}
              data-testid={`plugin-${action}`}
              disabled={state?.phase === 'sending'}
              onClick={() => void send(name, action)}
            >
              {isDisabled ? 'Enable' : 'Disable'}
            </button>
          )}
          {canCommand && <LifecycleButtons plugin={name} target="on this instance" send={(action, v) => sendLifecycle(name, action, v)} />}
          <span data-testid="plugin-outcome" aria-live="polite">
            {state && <Outcome state={state} events={events} />}
          </span>
        </td>
      </tr>
    );
  };

  return (
    <>
      {instance.plugins.length === 0 ? (
        <p className="muted">No plugins loaded.</p>
      ) : (
        <table className="data-table plugin-table">
          <thead>
            <tr>
              <th scope="col">Plugin</th>
              <th scope="col">Version</th>
              <th scope="col">Ext-info</th>
              <th scope="col">Configuration</th>
              <th scope="col">Control</th>
            </tr>
          </thead>
          <tbody>{instance.plugins.map(row)}</tbody>
        </table>
      )}
      {canCommand && (
        <div className="plugin-commands" data-testid="plugin-commands">
          <h4>Install a plugin</h4>
          <InstallForm send={(plugin, version) => sendLifecycle(plugin, 'install', version)} />
          {lifecycle.error && (
            <p className="outcome outcome--failed" role="alert">
              Cannot read the plugin commands: {lifecycle.error}
            </p>
          )}
          <CommandList commands={lifecycle.commands.filter(isLifecycle).slice(0, COMMANDS_SHOWN)} showInstance={false} />
        </div>
      )}
    </>
  );
}
