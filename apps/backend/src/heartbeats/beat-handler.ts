import { Inject, Injectable } from '@nestjs/common';
import { describeIssues, heartbeatSchema, type BeatReply, type BeatSocketAnswer } from '@vigil/protocol';
import { CLOCK, type Clock } from '../common/clock.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { PluginCommandQueue } from '../instances/plugin-commands.js';
import { MetricsService } from '../ops/metrics.service.js';

/**
 * What a beat does, whichever transport brought it (the HTTP route or the beat socket): one
 * schema check, one registry call (a map lookup and a lease renewal), and the reply with the
 * interval to beat at and any pending plugin commands.
 */
@Injectable()
export class BeatHandler {
  constructor(
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
    @Inject(PluginCommandQueue) private readonly commands: PluginCommandQueue,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Applies a beat (the parsed JSON body); answers with the HTTP status and body it gets. */
  handle(body: unknown): BeatSocketAnswer {
    const parsed = heartbeatSchema.safeParse(body);
    if (!parsed.success) {
      this.metrics.beatRejected();
      return { status: 400, body: { error: 'invalid heartbeat', issues: describeIssues(parsed.error) } };
    }
    const beat = parsed.data;
    this.metrics.beatReceived(beat.kind);
    const now = this.clock.now();
    const answer: BeatReply = { result: this.registry.applyBeat(beat, now), serverTime: now };
    if (answer.result === 'unknown' || answer.result === 'offline') return { status: 200, body: answer };
    const interval = this.registry.configuredInterval(beat.instanceId);
    if (interval !== null) answer.interval = interval;
    const commands = this.commands.take(beat.instanceId);
    if (commands) answer.commands = commands;
    return { status: 200, body: answer };
  }
}
