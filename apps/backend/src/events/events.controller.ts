import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { EVENTS_PATH, EVENT_LEVELS, eventBatchSchema, eventListSchema, type EventList } from '@vigil/protocol';
import { z } from 'zod';
import { inScope } from '../access/access.hooks.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { queryInt, queryList, queryText } from '../common/query-params.js';
import { parseOr400 } from '../common/validation.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { AgentRoute, INVALID, Operation, Responses, ZodBody, ZodQuery, ZodResponse } from '../openapi/zod-api.js';
import { EventsService } from './events.service.js';

const MAX_MS = 8_640_000_000_000_000;

const eventQuerySchema = z.object({
  service: queryText.optional(),
  instanceId: queryText.optional(),
  type: queryText.optional(),
  level: queryList(EVENT_LEVELS).optional(),
  origin: z.enum(['backend', 'agent']).optional(),
  from: queryInt(0, MAX_MS).optional(),
  to: queryInt(0, MAX_MS).optional(),
  offset: queryInt(0, 10_000_000).default(0),
  limit: queryInt(1, 1000).default(50),
});

const countsQuerySchema = z.object({ from: queryInt(0, MAX_MS).optional() });

const levelCountsSchema = z.object(Object.fromEntries(EVENT_LEVELS.map((level) => [level, z.number().int()])));

@ApiTags('Events')
@Controller(EVENTS_PATH)
export class EventsController {
  constructor(
    private readonly events: EventsService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly registry: InstanceRegistry,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
  ) {}

  /** Events, newest first, filtered like Sermant's events API, with paging. */
  @Get()
  @Operation('Events, newest first, filtered and paged')
  @ZodQuery(eventQuerySchema)
  @ZodResponse(200, 'A page of events and the total of every match', eventListSchema, 'EventList')
  @Responses({ 400: INVALID })
  list(@Query() query: unknown): EventList {
    const q = parseOr400(eventQuerySchema, query, 'query');
    const { level, ...rest } = q;
    return this.events.query({ ...rest, ...(level && { levels: level }) });
  }

  /** Counts by level since `from` (default: the last 24 hours). */
  @Get('counts')
  @Operation('Event counts by level since `from` (default: the last 24 hours)')
  @ZodQuery(countsQuerySchema)
  @ZodResponse(200, 'Counts by level', levelCountsSchema)
  @Responses({ 400: INVALID })
  counts(@Query() query: unknown): Record<string, number> {
    const now = this.clock.now();
    const { from } = parseOr400(countsQuerySchema, query, 'query');
    return this.events.store.countByLevel(from ?? now - 86_400_000, now);
  }

  /** A batch of an agent's events. */
  @Post()
  @HttpCode(202)
  @Operation("A batch of an agent's events")
  @AgentRoute()
  @ZodBody(eventBatchSchema, 'EventBatch')
  @ZodResponse(202, 'Recorded', z.object({ accepted: z.number().int() }))
  @Responses({
    400: `${INVALID}; or an unknown instance`,
    429: 'More event bytes than VIGIL_EVENT_BYTES_PER_SECOND allows this client: retry later',
  })
  ingest(@Body() body: unknown, @Req() request: FastifyRequest): { accepted: number } {
    const batch = parseOr400(eventBatchSchema, body, 'event batch');
    const service = this.registry.get(batch.instanceId)?.service;
    if (service !== undefined && !inScope(request.agentScope, service)) {
      throw new ForbiddenException({
        error: 'service outside the agent token',
        message: `instance ${batch.instanceId} is not within the token's services`,
      });
    }
    const result = this.events.recordBatch(batch, request.agentScope ?? request.socket.remoteAddress ?? '');
    if (result === 'unknown') {
      throw new BadRequestException({ error: 'unknown instance', issues: [`instanceId: no instance ${batch.instanceId}`] });
    }
    if (result === 'over-quota') {
      throw new HttpException(
        {
          error: 'too many event bytes',
          message: `this client sent more events than its quota allows (VIGIL_EVENT_BYTES_PER_SECOND=${this.config.eventBytesPerSecond}); retry later`,
        },
        429,
      );
    }
    return { accepted: batch.events.length };
  }
}
