import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetLink, StreamEntry } from './fleet-link.js';
import type { FleetMirror } from './fleet-mirror.js';
import { STREAM_FIELD, compareStreamIds, fieldOf } from './redis-codec.js';
import type { RedisOutage } from './redis-outage.js';

/** No position yet: read a stream from its start. */
const START = '0-0';

/**
 * Reads the other replicas' changes (the `feed` stream) and events (the `events` stream) as
 * they come, with a blocking read on its own connection, and applies them to this replica's
 * mirror. Keeps its position in both, which a resync moves.
 */
export class ChangeFeedReader {
  private feedId = START;
  private eventsId = START;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly link: FleetLink,
    private readonly mirror: FleetMirror,
    private readonly outage: RedisOutage,
  ) {}

  start(): void {
    this.running = this.readLoop();
  }

  /** Ends the loop; disconnecting the reader connection ends a read blocked in Redis. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.link.reader.disconnect();
    await this.running;
  }

  /** Reads on from these ids: the last entries a snapshot of the fleet includes. */
  resumeFrom(feedId: string, eventsId: string): void {
    this.feedId = feedId;
    this.eventsId = eventsId;
  }

  /** Reads both streams from their start (Redis came back empty: whatever is in them is new). */
  rewind(): void {
    this.resumeFrom(START, START);
  }

  /** True when changes this mirror has not applied were already trimmed from the feed. */
  async missedChanges(): Promise<boolean> {
    const { redis, keys } = this.link;
    const first = (await redis.xrange(keys.feed, '-', '+', 'COUNT', 1)) as StreamEntry[];
    return first[0] !== undefined && compareStreamIds(first[0][0], this.feedId) > 0 && this.feedId !== START;
  }

  private async readLoop(): Promise<void> {
    const { keys, reader, replicaId } = this.link;
    while (!this.stopped) {
      if (!this.link.synced) {
        await sleep(50);
        continue;
      }
      try {
        const reply = (await reader.xread(
          'COUNT',
          1_000,
          'BLOCK',
          1_000,
          'STREAMS',
          keys.feed,
          keys.events,
          this.feedId,
          this.eventsId,
        )) as Array<[stream: string, entries: StreamEntry[]]> | null;
        // The connection closed while the read was blocked: the resync decides where to read from.
        if (!reply || !this.link.synced) continue;
        this.mirror.applying = true;
        try {
          for (const [stream, entries] of reply) {
            for (const [id, fields] of entries) {
              const own = fieldOf(fields, STREAM_FIELD.replica) === replicaId;
              if (stream === keys.feed) {
                this.feedId = id;
                if (!own) this.applyFeedEntry(fields);
              } else {
                this.eventsId = id;
                const json = own ? undefined : fieldOf(fields, STREAM_FIELD.event);
                if (json) this.mirror.recordRemoteEvent(json);
              }
            }
          }
        } finally {
          this.mirror.applying = false;
        }
      } catch (error) {
        if (!this.stopped) {
          this.outage.failed(error as Error);
          await sleep(200);
        }
      }
    }
  }

  private applyFeedEntry(fields: string[]): void {
    const batch = fieldOf(fields, STREAM_FIELD.batch);
    if (batch) {
      this.mirror.applySyncBatch(batch);
      return;
    }
    const claimed = fieldOf(fields, STREAM_FIELD.claimed);
    if (claimed) this.mirror.applyClaim(claimed);
  }
}
