import type { EventRecord } from '@vigil/protocol';

/** Events in the order they happened (ids grow with time). */
function chronological(events: Iterable<EventRecord>): EventRecord[] {
  return [...events].sort((a, b) => Number(a.id) - Number(b.id));
}

/** What the agent answered to one command, once it has. */
export interface CommandOutcome {
  ok: boolean;
  message: string;
  time: number;
}

/** The agent's answer to a command, found by the command id its event carries back. */
export function commandOutcome(commandId: string, events: Iterable<EventRecord>): CommandOutcome | null {
  for (const event of chronological(events)) {
    if (event.origin !== 'agent' || event.attributes.commandId !== commandId) continue;
    if (event.type === 'plugin.disabled' || event.type === 'plugin.enabled') return { ok: true, message: event.message, time: event.time };
    if (event.type === 'plugin.command-failed') return { ok: false, message: event.message, time: event.time };
  }
  return null;
}
