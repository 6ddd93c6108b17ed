import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HEARTBEAT_PATH, LIMITS, describeIssues, heartbeatSchema, type BeatReply, type Heartbeat } from '@vigil/protocol';
import { inScope } from '../access/access.hooks.js';
import type { AgentScope } from '../access/credentials.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { BeatRateLimiter } from './beat-rate-limit.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { PluginCommandQueue } from '../instances/plugin-commands.js';
import { MetricsService } from '../ops/metrics.service.js';

/**
 * `PUT /api/v1/heartbeat`: the hot path, every agent hits it every interval. It is a route on
 * Nest's underlying Fastify instance rather than a Nest controller, because Nest's per-request
 * pipeline (guards, interceptors, pipes, exception zones) costs about a fifth of the throughput
 * here (see ../shared/TOOLCHAIN.md) and the beat needs none of it: one schema check, one map
 * lookup, one lease renewal (plus a token-bucket check per instance, see beat-rate-limit.ts).
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit {
  private readonly limiter = new BeatRateLimiter();

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
    @Inject(PluginCommandQueue) private readonly commands: PluginCommandQueue,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      this.metrics.beatRejected();
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply.code(413).send({ error: 'heartbeat too large', issues: [`(body): at most ${LIMITS.beatBodyBytes} bytes (LIMITS.beatBodyBytes)`] });
      }
      // Malformed JSON, a wrong content type: Fastify's own 4xx, with its message.
      return reply.code(error.statusCode && error.statusCode < 500 ? error.statusCode : 500).send({ error: 'invalid heartbeat', issues: [`(body): ${error.message}`] });
    };
    fastify.put(HEARTBEAT_PATH, { bodyLimit: LIMITS.beatBodyBytes, errorHandler }, async (request, reply) => {
      const parsed = heartbeatSchema.safeParse(request.body);
      if (!parsed.success) {
        this.metrics.beatRejected();
        return reply.code(400).send({ error: 'invalid heartbeat', issues: describeIssues(parsed.error) });
      }
      const beat = parsed.data;
      const scope = request.agentScope;
      if (scope !== undefined && scope.servicePrefix !== '' && !this.inScope(beat, scope)) {
        return reply.code(403).send({ error: 'service outside the agent token', message: `this token only speaks for services starting with '${scope.servicePrefix}'` });
      }
      const now = this.clock.now();
      if (beat.kind !== 'goodbye') {
        const slower = this.limiter.take(beat.instanceId, this.registry.configuredInterval(beat.instanceId), now);
        if (slower !== null) {
          this.metrics.beatRejected();
          return reply.code(429).send({ error: 'too many beats', message: `instance ${beat.instanceId} beats far faster than its interval`, interval: slower });
        }
      }
      this.metrics.beatReceived(beat.kind);
      const answer: BeatReply = { result: this.registry.applyBeat(beat, now), serverTime: now };
      if (answer.result === 'unknown' || answer.result === 'offline') return answer;
      const interval = this.registry.configuredInterval(beat.instanceId);
      if (interval !== null) answer.interval = interval;
      const commands = this.commands.take(beat.instanceId);
      if (commands) answer.commands = commands;
      return answer;
    });
  }

  /** A scoped token may beat for its services only, and may not take over another service's instance id. */
  private inScope(beat: Heartbeat, scope: AgentScope): boolean {
    const known = this.registry.get(beat.instanceId)?.service;
    return (beat.kind !== 'full' || inScope(scope, beat.service)) && (known === undefined || inScope(scope, known));
  }
}
