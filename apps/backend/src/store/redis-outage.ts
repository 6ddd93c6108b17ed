import type { EventsService } from '../events/events.service.js';
import type { FleetLink } from './fleet-link.js';
import { redactedUrl } from './redis-connection.js';

/**
 * Whether Redis answers, as this replica's commands find out: degraded from the first command
 * that fails until one succeeds. Logs each outage once, records `store.unreachable` once per
 * outage, and, while Redis is hung, asks it with a cheap PING instead of the claims and writes.
 */
export class RedisOutage {
  /** The last command failed (Redis down, hung or refusing): degraded until one succeeds. */
  private failing = false;
  private logged = false;
  /** When this replica noticed it could not claim (its `store.unreachable` event); null while claims work. */
  private since: number | null = null;
  private probing = false;
  private stopped = false;

  constructor(
    private readonly link: FleetLink,
    private readonly events: EventsService,
  ) {
    for (const client of [link.redis, link.reader]) client.on('error', (error: Error) => this.failed(error));
  }

  get degraded(): boolean {
    return this.failing;
  }

  /** Shutting down: errors from closing connections are not an outage. */
  stop(): void {
    this.stopped = true;
  }

  /** Asks a Redis that failed whether it answers again. */
  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.link.redis.ping();
      this.recovered();
    } catch (error) {
      this.failed(error as Error);
    } finally {
      this.probing = false;
    }
  }

  /**
   * Records once per outage that this replica cannot claim: nothing expires until Redis answers
   * again, and the first claim then (`store.stall`, from the claim script) says how long it was.
   */
  notice(now: number, reason: string): void {
    if (this.since !== null) return;
    this.since = now;
    this.events.record({
      time: now,
      level: 'important',
      type: 'store.unreachable',
      origin: 'backend',
      message: `Redis does not answer (${reason}): beats are answered and kept in memory, nothing expires until it answers again`,
      attributes: { replica: this.link.replicaId, reason },
    });
  }

  /** A command succeeded. */
  recovered(): void {
    this.failing = false;
    this.since = null;
    if (this.logged) this.link.log.info('Redis reachable again');
    this.logged = false;
  }

  /** A command failed (or a connection reported an error). */
  failed(error: Error): void {
    this.failing = true;
    if (this.stopped || this.logged) return;
    this.logged = true;
    this.link.log.error(
      { url: redactedUrl(this.link.options.target.url), reason: error.message },
      'Redis unreachable: beats are answered and kept in memory, nothing expires until it is back',
    );
  }
}
