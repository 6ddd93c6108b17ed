import { useState } from 'react';
import type { EventRecord, Instance, PluginInfo } from '@vigil/protocol';
import { ApiError } from '../../api/http';
import { RelativeTime } from '../../components/relative-time';
import { commandOutcome } from './plugin-state';
import { sendPluginCommand, type PluginAction } from './detail-api';

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

/**
 * The instance's plugins with their ext-info (a plugin switched off is listed as disabled, as
 * its agent reports it), and a disable / enable button each. A command
 * goes out with the reply to the agent's next beat; the outcome shown is the agent's own event
 * carrying the command id, not a guess.
 */
export function PluginPanel({ instance, events }: PluginPanelProps) {
  const [commands, setCommands] = useState<ReadonlyMap<string, CommandState>>(new Map());
  const canCommand = instance.source === 'agent';

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

  const row = ({ name, version, extInfo, enabled }: PluginInfo) => {
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
          <span data-testid="plugin-outcome" aria-live="polite">
            {state && <Outcome state={state} events={events} />}
          </span>
        </td>
      </tr>
    );
  };

  if (instance.plugins.length === 0) return <p className="muted">No plugins loaded.</p>;
  return (
    <table className="data-table plugin-table">
      <thead>
        <tr>
          <th scope="col">Plugin</th>
          <th scope="col">Version</th>
          <th scope="col">Ext-info</th>
          <th scope="col">Control</th>
        </tr>
      </thead>
      <tbody>{instance.plugins.map(row)}</tbody>
    </table>
  );
}
