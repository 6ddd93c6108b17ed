import { Inject, Injectable } from '@nestjs/common';
import { describeIssues, parseHeartbeat, type BeatReply, type BeatSocketAnswer, type Heartbeat } from '@vigil/protocol';
import { inScope } from '../access/access.hooks.js';
import type { AgentScope } from '../access/credentials.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { EventsService } from '../events/events.service.js';
import { InstanceAdmission, healthBytes, instanceBytes } from '../instances/instance-admission.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { PluginCommandQueue } from '../instances/plugin-commands.js';
import { MetricsService } from '../ops/metrics.service.js';
import { ConfigDeliveries } from '../plugin-config/config-deliveries.js';
import { BeatRateLimiter } from './beat-rate-limit.js';

/**
 * What a beat does, whichever transport brought it (the HTTP route or the beat socket): one
 * schema check (a few type checks for a light beat, `parseHeartbeat`), the agent token's scope,
 * a token-bucket check per instance (beat-rate-limit.ts), for a full beat the admission check
 * (instance-admission.ts: its width, the registry's size, the client's share), for a goodbye the
 * events it carries (events.service.ts), one registry call
 * (a map lookup and a lease renewal), and the reply with the interval to beat at and any pending plugin commands.
 */
@Injectable()
export class BeatHandler {
  private readonly limiter = new BeatRateLimiter();

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly admission: InstanceAdmission,
    private readonly commands: PluginCommandQueue,
    private readonly metrics: MetricsService,
    private readonly events: EventsService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly configs: ConfigDeliveries,
  ) {}

  /**
   * Applies a beat (the parsed JSON body) sent with an agent token of `scope` (undefined: no
   * token, e.g. loopback in protected mode) from peer `address`; answers with the HTTP status and
   * body it gets.
   */
  handle(body: unknown, scope: AgentScope | undefined, address: string | undefined): BeatSocketAnswer {
    const parsed = parseHeartbeat(body);
    if (!parsed.success) {
      this.metrics.beatRejected();
      return { status: 400, body: { error: 'invalid heartbeat', issues: describeIssues(parsed.error) } };
    }
    const beat = parsed.data;
    if (scope !== undefined && scope.servicePrefix !== '' && !this.inScope(beat, scope)) {
      return {
        status: 403,
        body: {
          error: 'service outside the agent token',
          message: `this token only speaks for services starting with '${scope.servicePrefix}'`,
        },
      };
    }
    const now = this.clock.now();
    const target = this.registry.beatTarget(beat.instanceId);
    let timings = target?.timings;
    if (beat.kind !== 'goodbye') {
      const slower = this.limiter.take(
        beat.instanceId,
        timings?.intervalMs ?? null,
        now,
        timings?.lostAfterMs ?? this.registry.lostAfter(beat.instanceId),
      );
      if (slower !== null) {
        this.metrics.beatRejected();
        return {
          status: 429,
          body: { error: 'too many beats', message: `instance ${beat.instanceId} beats far faster than its interval`, interval: slower },
        };
      }
    }
    if (beat.kind === 'full') {
      const refusal = this.admission.admit(
        beat.instanceId,
        target !== undefined,
        instanceBytes(beat.plugins, beat.metadata) + healthBytes(beat.health),
        scope ?? address ?? '',
        now,
      );
      if (refusal !== null) {
        this.metrics.beatRejected();
        return refusal;
      }
    }
    this.metrics.beatReceived(beat.kind);
    // The agent's last events ride with its goodbye: recorded as a batch from this client would
    // be (its quota applies; past it they are not stored, the goodbye still is), before the
    // instance goes offline, so they read in the order they happened.
    if (beat.kind === 'goodbye' && (beat.events !== undefined || beat.dropped !== undefined)) {
      this.events.recordBatch(
        { v: beat.v, instanceId: beat.instanceId, events: beat.events ?? [], dropped: beat.dropped ?? 0 },
        scope ?? address ?? '',
      );
    }
    const answer: BeatReply = { result: this.registry.applyBeat(beat, now, target), serverTime: now };
    if (answer.result === 'unknown' || answer.result === 'offline') return { status: 200, body: answer };
    // A full beat may carry the agent's first events: recorded once the instance is known, as a
    // batch from this client would be. Past the quota they are not: without `eventsTaken` the
    // agent sends them as a batch (which then waits out the quota).
    if (beat.kind === 'full' && (beat.events !== undefined || beat.dropped !== undefined)) {
      const recorded = this.events.recordBatch(
        { v: beat.v, instanceId: beat.instanceId, events: beat.events ?? [], dropped: beat.dropped ?? 0 },
        scope ?? address ?? '',
      );
      if (recorded === 'recorded') answer.eventsTaken = true;
    }
    // A full beat may have changed the instance's timings (its metadata).
    if (beat.kind === 'full' || timings === undefined) timings = this.registry.beatTarget(beat.instanceId)?.timings;
    const interval = timings?.intervalMs ?? null;
    if (interval !== null) answer.interval = interval;
    const commands = this.commands.take(beat.instanceId);
    if (commands) answer.commands = commands;
    // Configuration the instance has not applied yet (plugin-config/config-deliveries.ts): a lookup, worked out before.
    const config = this.configs.for(beat.instanceId);
    if (config) answer.config = config;
    return { status: 200, body: answer };
  }

  /** A scoped token may beat for its services only, and may not take over another service's instance id. */
  private inScope(beat: Heartbeat, scope: AgentScope): boolean {
    const known = this.registry.get(beat.instanceId)?.service;
    return (beat.kind !== 'full' || inScope(scope, beat.service)) && (known === undefined || inScope(scope, known));
  }
}
