import type { EventLevel, EventRecord } from '@vigil/protocol';

export interface EventQuery {
  service?: string;
  instanceId?: string;
  /** Exact type, or a prefix ending in `.` (`instance.` matches every instance event). */
  type?: string;
  levels?: EventLevel[];
  origin?: EventRecord['origin'];
  from?: number;
  to?: number;
  offset: number;
  limit: number;
}

/**
 * The event log in memory: newest last, bounded by count and by age, so it can never grow
 * without limit whatever agents send. Queries scan from the newest end.
 */
export class EventStore {
  private events: EventRecord[] = [];
  private head = 0;
  private seq = 0;

  constructor(
    private readonly max: number,
    private readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.events.length - this.head;
  }

  add(event: Omit<EventRecord, 'id'>): EventRecord {
    const record: EventRecord = { id: String(++this.seq), ...event };
    this.events.push(record);
    this.trim(event.time);
    return record;
  }

  /** Newest first. */
  query(q: EventQuery, now: number): { events: EventRecord[]; total: number } {
    this.trim(now);
    const matches: EventRecord[] = [];
    for (let i = this.events.length - 1; i >= this.head; i--) {
      const e = this.events[i]!;
      if (q.to !== undefined && e.time > q.to) continue;
      if (q.from !== undefined && e.time < q.from) break;
      if (q.service !== undefined && e.service !== q.service) continue;
      if (q.instanceId !== undefined && e.instanceId !== q.instanceId) continue;
      if (q.origin !== undefined && e.origin !== q.origin) continue;
      if (q.levels && !q.levels.includes(e.level)) continue;
      if (q.type !== undefined && !(q.type.endsWith('.') ? e.type.startsWith(q.type) : e.type === q.type)) continue;
      matches.push(e);
    }
    return { events: matches.slice(q.offset, q.offset + q.limit), total: matches.length };
  }

  /** Counts by level in a time range, for the dashboard's level cards. */
  countByLevel(from: number, now: number): Record<EventLevel, number> {
    this.trim(now);
    const counts: Record<EventLevel, number> = { emergency: 0, important: 0, normal: 0 };
    for (let i = this.events.length - 1; i >= this.head; i--) {
      const e = this.events[i]!;
      if (e.time < from) break;
      counts[e.level]++;
    }
    return counts;
  }

  private trim(now: number): void {
    const oldest = now - this.maxAgeMs;
    while (this.size > this.max || (this.size > 0 && this.events[this.head]!.time < oldest)) this.head++;
    // Drop the consumed prefix now and then, so trimming stays O(1) amortised.
    if (this.head > 4096 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}
