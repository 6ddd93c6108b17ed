import { EVENT_LEVELS } from '../protocol';
import type { AgentEvent } from '../protocol';

/** Lower is more severe: emergency 0, important 1, normal 2. */
const severity = (event: AgentEvent): number => EVENT_LEVELS.indexOf(event.level);

/**
 * The events waiting to be sent, oldest first, never more than `capacity`. When full, room is
 * made by dropping the oldest of the least severe events (the newcomer itself when everything
 * queued is more severe), so a long outage keeps the emergencies. Every drop is counted, and
 * the count travels with the next batch.
 */
export class EventQueue {
  private events: AgentEvent[] = [];
  private dropped = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.events.length;
  }

  push(event: AgentEvent): void {
    this.events.push(event);
    this.trim();
  }

  /** Removes and returns up to `max` of the oldest events, with the drop count since the last take. */
  take(max: number): { events: AgentEvent[]; dropped: number } {
    const dropped = this.dropped;
    this.dropped = 0;
    return { events: this.events.splice(0, max), dropped };
  }

  /** Puts back a batch that could not be sent, in front of what came since, as if never taken. */
  putBack({ events, dropped }: { events: AgentEvent[]; dropped: number }): void {
    this.events = [...events, ...this.events];
    this.dropped += dropped;
    this.trim();
  }

  /** Counts events that were taken but will never be sent (the backend refused them). */
  addDropped(count: number): void {
    this.dropped += count;
  }

  private trim(): void {
    while (this.events.length > this.capacity) {
      const leastSevere = Math.max(...this.events.map(severity));
      this.events.splice(
        this.events.findIndex((event) => severity(event) === leastSevere),
        1,
      );
      this.dropped += 1;
    }
  }
}
