import { RelativeTime } from '../../components/relative-time';
import { routeHref } from '../../routing/hash-route';
import type { CommandState, PluginCommandState } from './commands-api';
import { actionOf, describeProgress, progressOf } from './command-progress';

const STATE_CLASS: Record<CommandState, string> = {
  queued: 'outcome--pending',
  delivered: 'outcome--pending',
  succeeded: 'outcome--ok',
  failed: 'outcome--failed',
  expired: 'outcome--failed',
};

/** What each state means to the user, in the tooltip. */
const STATE_HINT: Record<CommandState, string> = {
  queued: 'waiting for the next beat of the instance',
  delivered: 'sent in a beat reply; waiting for the agent to report',
  succeeded: 'the agent reported it done',
  failed: 'the agent reported it could not',
  expired: 'the instance did not beat before the command expired',
};

interface CommandListProps {
  commands: readonly PluginCommandState[];
  /** Show the instance column (a command list for a service). */
  showInstance: boolean;
}

/** Progress of plugin commands: a count line, then one row per instance and command with its state and reason. */
export function CommandList({ commands, showInstance }: CommandListProps) {
  if (commands.length === 0) return null;
  return (
    <div className="command-list">
      <p className="result-line" data-testid="command-progress" aria-live="polite">
        {describeProgress(progressOf(commands))}
      </p>
      <table className="data-table command-table">
        <thead>
          <tr>
            {showInstance && <th scope="col">Instance</th>}
            <th scope="col">Command</th>
            <th scope="col">State</th>
            <th scope="col">Reason</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {commands.map((command) => (
            <tr key={command.id} data-testid="command-row" data-instance-id={command.instanceId} data-state={command.state}>
              {showInstance && (
                <td>
                  <a href={routeHref(`/instances/${encodeURIComponent(command.instanceId)}`)}>
                    <code>{command.instanceId}</code>
                  </a>
                </td>
              )}
              <td>
                {actionOf(command.type)} {command.plugin}
                {command.version && <span className="muted"> {command.version}</span>}
              </td>
              <td>
                <span className={`outcome ${STATE_CLASS[command.state]}`} data-testid="command-state" title={STATE_HINT[command.state]}>
                  {command.state}
                </span>
              </td>
              <td data-testid="command-reason">{command.reason ?? <span className="muted">—</span>}</td>
              <td>
                <RelativeTime time={command.updatedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
