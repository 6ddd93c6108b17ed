import type { BackendRequest } from '../backend/backend-link';
import type { AgentEvents } from '../events/agent-events';
import type { EventSender } from '../events/event-sender';
import type { HeartbeatSender } from '../heartbeat/heartbeat-sender';
import type { Farewell } from './shutdown-hooks';
import { sendSync } from './sync-send';

/**
 * Largest JSON of last events the goodbye carries; more go as a batch of their own. Far below
 * the beat's 256 KiB limit, and small enough for the goodbye to be written at once (`writeNow`).
 */
const GOODBYE_EVENTS_MAX_BYTES = 16 * 1024;

/**
 * The agent's goodbye: `agent.stopped` and the events still queued, carried by the goodbye beat
 * itself (one message, on the connection that is already open), or as a batch of their own
 * when they are too many.
 */
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
    const { heartbeat } = this.parts;
    const sender = this.eventSender();
    // The batch in flight is not taken: its answer may still come.
    const last = heartbeat.owesGoodbye ? sender?.takeOwed(GOODBYE_EVENTS_MAX_BYTES, false) : undefined;
    await Promise.all([heartbeat.goodbye(budgetMs, last), last === undefined ? sender?.flush(budgetMs) : undefined]);
  }

  /**
   * From within 'exit': the goodbye (with the last events) is written at once on the beat's open
   * connection when there is one; what could not be goes out from a worker (sync-send), which
   * this thread waits for.
   */
  runSync(reason: string, budgetMs: number): void {
    this.recordStop(reason);
    const { heartbeat } = this.parts;
    const sender = this.eventSender();
    const last = heartbeat.owesGoodbye ? sender?.takeOwed(GOODBYE_EVENTS_MAX_BYTES, true) : undefined;
    const requests = [heartbeat.goodbyeNow(last), last === undefined ? sender?.batchNow() : undefined].filter(
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
