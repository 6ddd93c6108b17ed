import { BadRequestException, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { INSTANCES_PATH, type EventRecord, type Instance, type InstanceList, type PluginCommand } from '@vigil/protocol';
import { CLOCK, type Clock } from '../common/clock.js';
import { parseOr400 } from '../common/validation.js';
import { EventsService } from '../events/events.service.js';
import { countInstances, instanceQuerySchema, queryInstances } from './instance-query.js';
import { InstanceRegistry } from './instance-registry.js';
import { PluginCommandQueue } from './plugin-commands.js';

export interface InstanceDetail {
  instance: Instance;
  /** Arrival times (backend clock, epoch ms) of the most recent beats, oldest first. */
  beatArrivals: readonly number[];
  /** The instance's most recent events, newest first. */
  events: EventRecord[];
}

@Controller(INSTANCES_PATH)
export class InstancesController {
  constructor(
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
    @Inject(EventsService) private readonly events: EventsService,
    @Inject(PluginCommandQueue) private readonly commands: PluginCommandQueue,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Instances, filtered, sorted and paged on the server. */
  @Get()
  list(@Query() query: unknown): InstanceList {
    return queryInstances(this.registry.list(), parseOr400(instanceQuerySchema, query, 'query'));
  }

  /** Counts of apps, services and instances by status. */
  @Get('counts')
  counts(): ReturnType<typeof countInstances> {
    return countInstances(this.registry.list());
  }

  @Get(':id')
  detail(@Param('id') id: string): InstanceDetail {
    const instance = this.registry.get(id);
    if (!instance) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${id}`] });
    return {
      instance,
      beatArrivals: this.registry.history(id),
      events: this.events.query({ instanceId: id, offset: 0, limit: 20 }).events,
    };
  }

  /** Disables one plugin on one instance: delivered in the reply to its next beat. */
  @Post(':id/plugins/:plugin/disable')
  @HttpCode(202)
  disable(@Param('id') id: string, @Param('plugin') plugin: string): { command: PluginCommand } {
    return this.command(id, plugin, 'plugin.disable');
  }

  @Post(':id/plugins/:plugin/enable')
  @HttpCode(202)
  enable(@Param('id') id: string, @Param('plugin') plugin: string): { command: PluginCommand } {
    return this.command(id, plugin, 'plugin.enable');
  }

  private command(id: string, plugin: string, type: PluginCommand['type']): { command: PluginCommand } {
    const instance = this.registry.get(id);
    if (!instance) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${id}`] });
    if (instance.source !== 'agent') {
      throw new BadRequestException({ error: 'not an agent', issues: [`id: ${id} was registered through Nacos; it has no plugins`] });
    }
    if (!instance.plugins.some((p) => p.name === plugin)) {
      throw new NotFoundException({ error: 'unknown plugin', issues: [`plugin: ${plugin} is not loaded on ${id}`] });
    }
    const command = this.commands.enqueue(id, type, plugin);
    if (!command) {
      throw new BadRequestException({ error: 'too many pending commands', issues: [`id: ${id} has not beaten to collect its commands`] });
    }
    this.events.record({
      time: this.clock.now(),
      level: 'normal',
      type: 'plugin.command-sent',
      origin: 'backend',
      message: `${type} ${plugin}: sent with the next beat reply`,
      instanceId: id,
      service: instance.service,
      attributes: { plugin, commandId: command.id, command: type },
    });
    return { command };
  }
}
