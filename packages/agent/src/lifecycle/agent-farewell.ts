import type { BackendRequest } from '../backend/backend-link';
import type { AgentEvents } from '../events/agent-events';
import type { EventSender } from '../events/event-sender';
import type { HeartbeatSender } from '../heartbeat/heartbeat-sender';
import type { Farewell } from './shutdown-hooks';
import { sendSync } from './sync-send';

/** The agent's goodbye: `agent.stopped`, a goodbye beat, and the events still queued. */
export class AgentFarewell implements Farewell {
  private stopRecorded = false;

  constructor(
    private readonly parts: {
      events: AgentEvents;
      heartbeat: HeartbeatSender;
      eventSender: EventSender | undefined;
    },
  ) {}

  async run(reason: string, budgetMs: number): Promise<void> {
    this.recordStop(reason);
    // Both go out on the backend's one connection, the goodbye first.
    await Promise.all([this.parts.heartbeat.goodbye(budgetMs), this.eventSender()?.flush(budgetMs)]);
  }

  runSync(reason: string, budgetMs: number): void {
    this.recordStop(reason);
    const requests = [this.parts.heartbeat.pendingGoodbye(), this.eventSender()?.pendingBatch()].filter(
      (request): request is BackendRequest => request !== undefined,
    );
    sendSync(requests, budgetMs);
  }

  /**
   * The events' sender, if events can still reach the backend: it takes events only from
   * instances it knows through their beats, so a host that ends before the first beat went out
   * (a short-lived command, a start-up that failed) has none to send, and spends nothing on them.
   */
  private eventSender(): EventSender | undefined {
    const { eventSender, heartbeat } = this.parts;
    if (eventSender !== undefined && !heartbeat.beatSent) {
      eventSender.stop();
      return undefined;
    }
    return eventSender;
  }

  private recordStop(reason: string): void {
    if (this.stopRecorded) return;
    this.stopRecorded = true;
    this.parts.events.record('normal', 'agent.stopped', `vigil agent stopped (${reason})`, { reason });
  }
}
