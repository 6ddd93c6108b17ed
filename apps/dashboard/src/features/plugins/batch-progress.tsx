import { useEffect } from 'react';
import { CommandList } from '../plugin-commands/command-list';
import type { LifecycleAction, PluginCommandState } from '../plugin-commands/commands-api';
import { usePluginCommands } from '../plugin-commands/use-plugin-commands';

/** Commands sent together: one per running instance of a service. */
export interface Batch {
  /** Unique on the page (the first command's id). */
  key: string;
  action: LifecycleAction;
  plugin: string;
  service: string;
  version: string;
  sent: readonly PluginCommandState[];
}

/** Progress of a batch, instance by instance, kept live. */
export function BatchProgress({ batch, onClose }: { batch: Batch; onClose: () => void }) {
  const { commands, track } = usePluginCommands({ service: batch.service, plugin: batch.plugin });
  // The batch as sent until the list is read, then as the list and the events say.
  useEffect(() => track(batch.sent), [track, batch.sent]);
  const ids = new Set(batch.sent.map((c) => c.id));
  const shown = commands.filter((c) => ids.has(c.id));
  return (
    <section className="panel batch" data-testid="batch-progress" data-plugin={batch.plugin} data-service={batch.service}>
      <div className="toolbar">
        <h3>
          {batch.action} {batch.plugin}
          {batch.version && ` ${batch.version}`} on {batch.service}
        </h3>
        <button type="button" className="button button--quiet" onClick={onClose}>
          Close
        </button>
      </div>
      {batch.sent.length === 0 ? (
        <p className="muted">No running instance of {batch.service} took the command.</p>
      ) : (
        <CommandList commands={shown} showInstance />
      )}
    </section>
  );
}
