import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  INSTANCES_PATH,
  eventRecordSchema,
  fleetCountsSchema,
  instanceListSchema,
  instanceSchema,
  metricsHistorySchema,
  type InstanceList,
  type MetricsHistory,
} from '@vigil/protocol';
import { z } from 'zod';
import { CLOCK, type Clock } from '../common/clock.js';
import { parseOr400 } from '../common/validation.js';
import { BUCKET_MS } from '../health/metrics-history.js';
import { EventsService } from '../events/events.service.js';
import { INVALID, Operation, Responses, ZodQuery, ZodResponse } from '../openapi/zod-api.js';
import { countInstances, instanceQuerySchema, queryInstances } from './instance-query.js';
import { InstanceRegistry } from './instance-registry.js';

const instanceDetailSchema = z.object({
  instance: instanceSchema,
  /** Arrival times (backend clock, epoch ms) of the most recent beats, oldest first. */
  beatArrivals: z.array(z.number()).readonly(),
  /** The instance's most recent events, newest first. */
  events: z.array(eventRecordSchema),
});
export type InstanceDetail = z.output<typeof instanceDetailSchema>;

@ApiTags('Instances')
@Controller(INSTANCES_PATH)
export class InstancesController {
  constructor(
    private readonly registry: InstanceRegistry,
    private readonly events: EventsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @Operation('Instances, filtered, sorted and paged on the server')
  @ZodQuery(instanceQuerySchema)
  @ZodResponse(200, 'A page of instances and the total of every match', instanceListSchema, 'InstanceList')
  @Responses({ 400: INVALID })
  list(@Query() query: unknown): InstanceList {
    return queryInstances(this.registry.list(), parseOr400(instanceQuerySchema, query, 'query'));
  }

  @Get('counts')
  @Operation('Counts of apps, services and instances by status')
  @ZodResponse(200, 'Counts', fleetCountsSchema, 'FleetCounts')
  counts(): ReturnType<typeof countInstances> {
    return countInstances(this.registry.list());
  }

  @Get(':id')
  @Operation('One instance with its recent beat arrival times and events')
  @ZodResponse(
    200,
    'The instance, the arrival times of its last beats (for a jitter sparkline) and its 20 newest events',
    instanceDetailSchema,
  )
  @Responses({ 404: 'Unknown instance' })
  detail(@Param('id') id: string): InstanceDetail {
    const instance = this.registry.get(id);
    if (!instance) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${id}`] });
    return {
      instance,
      beatArrivals: this.registry.history(id),
      events: this.events.query({ instanceId: id, offset: 0, limit: 20 }).events,
    };
  }

  @Get(':id/metrics')
  @Operation("An instance's metrics over at least the last 30 minutes, oldest first")
  @ZodResponse(
    200,
    'Aggregates every `resolutionMs` for every instance; a sample per beat after them for an instance a dashboard watches (or this route was asked for)',
    metricsHistorySchema,
    'MetricsHistory',
  )
  @Responses({ 404: 'Unknown instance' })
  metrics(@Param('id') id: string): MetricsHistory {
    const samples = this.registry.metricsHistory(id, this.clock.now());
    if (!samples) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${id}`] });
    // Someone is looking at it: its next beats are kept one by one.
    this.registry.followMetrics([id]);
    return { instanceId: id, samples, resolutionMs: BUCKET_MS };
  }
}
