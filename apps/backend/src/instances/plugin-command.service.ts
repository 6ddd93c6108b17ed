import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  InternalServerErrorException,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { LIMITS, type EventRecord, type PluginCommand, type PluginCommandState } from '@vigil/protocol';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsService } from '../events/events.service.js';
import { createLogger } from '../logger.js';
import { InstanceRegistry } from './instance-registry.js';
import {
  MAX_ACTIVE_COMMANDS,
  PluginCommandLog,
  commandView,
  delivered,
  finished,
  instanceGone,
  newCommand,
  outcomeOf,
  timedOut,
  wireCommand,
  type CommandFilter,
  type CommandTimings,
  type StoredCommand,
} from './plugin-command-log.js';
import { PLUGIN_COMMAND_STORE, type CommandChange, type PluginCommandStore } from './plugin-command-store.js';
import type { CommandTargets } from './plugin-command-targets.js';
import { PluginCommandQueue } from './plugin-commands.js';

/** How often deadlines are looked at: a command expires at most this late. */
export const COMMAND_SWEEP_MS = 1_000;

/** Tries of a compare-and-set against another replica's changes before giving up on one transition. */
const CAS_TRIES = 3;

/**
 * Plugin commands from the API to the agents and back: each is saved (data dir, or Redis) and
 * queued for its instance's next beat, whose reply carries it (`delivered`); the agent's outcome
 * event, matched by the command id, makes it `succeeded` or `failed`; one not delivered within
 * `VIGIL_COMMAND_TTL_MS` `expired`s, one delivered with no outcome within `VIGIL_COMMAND_OUTCOME_MS`
 * `failed` (`no outcome`). Which instances a command may go to is the controller's check
 * (plugin-command-targets.ts).
 */
@Injectable()
export class PluginCommandService implements OnModuleInit, OnModuleDestroy {
  private readonly timings: CommandTimings;
  private readonly logger: Logger;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly queue: PluginCommandQueue,
    private readonly events: EventsService,
    private readonly log: PluginCommandLog,
    @Inject(PLUGIN_COMMAND_STORE) private readonly store: PluginCommandStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.timings = config.commands;
    this.logger = createLogger(config.logLevel).child({ component: 'plugin-commands' });
  }

  async onModuleInit(): Promise<void> {
    const { commands, problem } = await this.store.load();
    if (problem) this.logger.error(problem);
    for (const command of commands) this.log.set(command, true);
    // The file is the queue's only copy; with Redis the fleet store reloads the queue itself.
    if (!this.store.shared) {
      for (const [instanceId, queued] of this.log.queuedByInstance()) this.queue.replace(instanceId, queued.map(wireCommand));
    }
    this.queue.deliverOnly((command) => {
      const state = this.log.get(command.id)?.state;
      return state === undefined || state === 'queued';
    });
    this.unsubscribe = [
      this.queue.onTaken((_instanceId, taken) => this.delivered(taken)),
      this.events.onEvent((event) => this.outcome(event)),
      this.registry.onChange((change) => {
        if (change.type === 'removed') this.instanceRemoved(change.instanceId);
      }),
      this.store.watch?.((change) => this.applyRemote(change)) ?? (() => undefined),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    await this.store.close();
  }

  /**
   * Queues one command of `type` for each target (instances the controller checked), all or none:
   * none when one of them already has `LIMITS.commandsPerReply` waiting (400 naming it), or the
   * fleet has MAX_ACTIVE_COMMANDS in flight (409). Answers the new commands' states.
   */
  async send(targets: CommandTargets, plugin: string, type: PluginCommand['type'], version: string | null): Promise<PluginCommandState[]> {
    if (this.log.active() + targets.instances.length > MAX_ACTIVE_COMMANDS) {
      throw new ConflictException({
        error: 'too many commands in flight',
        issues: [`(body): at most ${MAX_ACTIVE_COMMANDS} commands may be queued or delivered at once, fleet-wide`],
      });
    }
    const full = targets.instances.flatMap((instance, i) =>
      this.queue.size(instance.instanceId) >= LIMITS.commandsPerReply
        ? [`${targets.field(i)}: ${instance.instanceId} has ${LIMITS.commandsPerReply} commands waiting; it has not beaten to collect them`]
        : [],
    );
    if (full.length > 0) throw new BadRequestException({ error: 'too many pending commands', issues: full });
    const now = this.clock.now();
    const commands = targets.instances.map((instance) =>
      newCommand(
        { id: randomUUID(), instanceId: instance.instanceId, service: instance.service, type, plugin, version },
        now,
        this.timings,
      ),
    );
    // In the log before the save (the file writes the log), queued after it: a command is never handed out unsaved.
    for (const command of commands) this.log.set(command);
    try {
      await this.store.add(commands);
    } catch (error) {
      for (const command of commands) this.log.remove(command.id);
      const reason = (error as Error).message;
      this.logger.error({ path: this.store.where, reason }, 'cannot save plugin commands: none was queued');
      throw new InternalServerErrorException({ error: 'cannot save plugin commands', path: this.store.where, reason });
    }
    for (const command of commands) {
      // A reload of the shared log that read Redis just before the save may have dropped it.
      this.log.set(command);
      if (!this.queue.enqueue(command.instanceId, wireCommand(command))) {
        // Another request filled the queue while this one saved.
        void this.transition(command.id, (current) => finished(current, 'failed', 'too many pending commands', this.clock.now()));
        continue;
      }
      this.events.record({
        time: now,
        level: 'normal',
        type: 'plugin.command-sent',
        origin: 'backend',
        message: `${type} ${plugin}${version === null ? '' : `@${version}`}: sent with the next beat reply`,
        instanceId: command.instanceId,
        service: command.service,
        attributes: { plugin, commandId: command.id, command: type, ...(version !== null && { version }) },
      });
    }
    // One may have failed at once (a full queue): answer what each is now.
    return commands.map((command) => commandView(this.log.get(command.id) ?? command));
  }

  list(filter: CommandFilter, limit: number): PluginCommandState[] {
    return this.log.list(filter, limit).map(commandView);
  }

  /**
   * Gives up on commands past their deadline, and forgets the oldest finished ones beyond the
   * history. Scheduled; tests call it directly.
   */
  @Interval(COMMAND_SWEEP_MS)
  async sweep(): Promise<void> {
    const now = this.clock.now();
    await Promise.all(
      this.log.due(now).map(async (command) => {
        const next = await this.transition(command.id, (current) => timedOut(current, now));
        if (next?.state === 'expired') this.queue.withdraw(next.instanceId, next.id);
        if (next) this.gaveUp(next);
      }),
    );
    const surplus = this.log.surplus();
    if (surplus.length === 0) return;
    for (const id of surplus) this.log.remove(id);
    await this.store.forget(surplus).catch((error: Error) => this.logger.warn({ err: error }, 'could not forget old plugin commands'));
  }

  /** The commands a beat reply just carried. */
  private delivered(taken: PluginCommand[]): void {
    const now = this.clock.now();
    for (const { id } of taken) void this.transition(id, (current) => delivered(current, now, this.timings));
  }

  /** An agent's event recorded on this replica: an outcome moves its command. */
  private outcome(event: EventRecord): void {
    const outcome = outcomeOf(event);
    if (!outcome) return;
    const known = this.log.get(outcome.commandId);
    // Only the instance the command went to speaks for it.
    if (known && known.instanceId !== event.instanceId) return;
    void this.transition(outcome.commandId, (current) =>
      current.instanceId === event.instanceId ? finished(current, outcome.outcome, outcome.reason, event.time) : null,
    );
  }

  private instanceRemoved(instanceId: string): void {
    const now = this.clock.now();
    for (const command of this.log.queuedFor(instanceId)) {
      void this.transition(command.id, (current) => instanceGone(current, now)).then((next) => next && this.gaveUp(next));
    }
  }

  /** A backend event for a command given up on, so the dashboard and webhooks hear of it. */
  private gaveUp(command: StoredCommand): void {
    this.events.record({
      time: command.updatedAt,
      level: 'important',
      type: command.state === 'expired' ? 'plugin.command-expired' : 'plugin.command-unanswered',
      origin: 'backend',
      message: `${command.type} ${command.plugin} (command ${command.id}): ${command.reason ?? command.state}`,
      instanceId: command.instanceId,
      service: command.service,
      attributes: { plugin: command.plugin, commandId: command.id, command: command.type, reason: command.reason ?? '' },
    });
  }

  /**
   * Moves a command to `next(current)` (null: the move does not apply). A file store's log is the
   * truth and the move is saved after; a shared store's is Redis, so the move is a compare-and-set
   * there, retried on what another replica made of the command. Answers the new state, or null.
   */
  private async transition(id: string, next: (current: StoredCommand) => StoredCommand | null): Promise<StoredCommand | null> {
    try {
      for (let attempt = 0; attempt < CAS_TRIES; attempt++) {
        const current = this.log.get(id) ?? (this.store.shared ? await this.store.get(id) : undefined);
        if (!current) return null;
        const changed = next(current);
        if (!changed) return null;
        if (!this.store.shared) {
          this.log.set(changed);
          await this.store.replace(changed, current.rev);
          return changed;
        }
        if (await this.store.replace(changed, current.rev)) {
          this.log.set(changed);
          return changed;
        }
        const fresh = await this.store.get(id);
        if (fresh) this.log.set(fresh, true);
        else this.log.remove(id);
      }
    } catch (error) {
      this.logger.warn({ err: error, command: id }, 'could not save a plugin command state');
    }
    return null;
  }

  private applyRemote(change: CommandChange): void {
    if ('commands' in change) {
      for (const command of change.commands) this.log.set(command);
    } else if ('forgotten' in change) {
      for (const id of change.forgotten) this.log.remove(id);
    } else {
      const present = new Set(change.all.map((command) => command.id));
      for (const command of this.log.all()) if (!present.has(command.id)) this.log.remove(command.id);
      for (const command of change.all) this.log.set(command);
    }
  }
}
