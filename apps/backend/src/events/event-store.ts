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

/** Bytes an event's object, its id and its fixed fields take besides its strings (an estimate). */
const EVENT_OVERHEAD_BYTES = 200;
/** Per attribute: its slot in the attributes object and two string headers. */
const ATTRIBUTE_OVERHEAD_BYTES = 40;

/**
 * What an event costs in memory, estimated cheaply from its string lengths: two bytes a
 * character (V8's widest string form) plus fixed overheads. An upper bound for the ASCII events
 * the backend records, near the truth for wide (e.g. CJK) ones.
 */
export function eventBytes(event: Omit<EventRecord, 'id'>): number {
  let chars = event.type.length + event.message.length + (event.instanceId?.length ?? 0) + (event.service?.length ?? 0);
  let bytes = EVENT_OVERHEAD_BYTES;
  for (const key in event.attributes) {
    chars += key.length + (event.attributes[key]?.length ?? 0);
    bytes += ATTRIBUTE_OVERHEAD_BYTES;
  }
  return bytes + chars * 2;
}

/**
 * The event log in memory: newest last, bounded by count, by estimated bytes (`eventBytes`) and
 * by age, so it can never grow without limit whatever agents send: the oldest go first. Queries
 * scan from the newest end.
 */
export class EventStore {
  private events: EventRecord[] = [];
  private head = 0;
  private seq = 0;
  private held = 0;

  constructor(
    private readonly max: number,
    private readonly maxAgeMs: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  get size(): number {
    return this.events.length - this.head;
  }

  /** Estimated bytes of the events held. */
  get bytes(): number {
    return this.held;
  }

  add(event: Omit<EventRecord, 'id'>): EventRecord {
    const record: EventRecord = { id: String(++this.seq), ...event };
    this.events.push(record);
    this.held += eventBytes(record);
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
    while (this.size > this.max || this.held > this.maxBytes || (this.size > 0 && this.events[this.head]!.time < oldest)) {
      this.held -= eventBytes(this.events[this.head]!);
      // Released for the collector now, not when the consumed prefix is dropped.
      this.events[this.head++] = undefined as unknown as EventRecord;
    }
    // Drop the consumed prefix now and then, so trimming stays O(1) amortised.
    if (this.head > 4096 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}
