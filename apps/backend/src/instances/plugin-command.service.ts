import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { PluginCommand } from '@vigil/protocol';
import { CLOCK, type Clock } from '../common/clock.js';
import { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from './instance-registry.js';
import { PluginCommandQueue } from './plugin-commands.js';

/**
 * Sends a plugin command to an instance: it is queued for the instance's next beat, whose reply
 * carries it, and a `plugin.command-sent` event records it. Only an agent's instance (not one
 * registered through Nacos) with that plugin loaded takes one, and at most
 * `LIMITS.commandsPerReply` wait at a time.
 */
@Injectable()
export class PluginCommandService {
  constructor(
    private readonly registry: InstanceRegistry,
    private readonly queue: PluginCommandQueue,
    private readonly events: EventsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  send(id: string, plugin: string, type: PluginCommand['type']): PluginCommand {
    const instance = this.registry.get(id);
    if (!instance) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${id}`] });
    if (instance.source !== 'agent') {
      throw new BadRequestException({ error: 'not an agent', issues: [`id: ${id} was registered through Nacos; it has no plugins`] });
    }
    if (!instance.plugins.some((p) => p.name === plugin)) {
      throw new NotFoundException({ error: 'unknown plugin', issues: [`plugin: ${plugin} is not loaded on ${id}`] });
    }
    const command = this.queue.enqueue(id, type, plugin);
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
    return command;
  }
}
