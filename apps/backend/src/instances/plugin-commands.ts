import { LIMITS, type PluginCommand } from '@vigil/protocol';

/**
 * Plugin commands waiting for their instance's next beat, which carries them in its reply.
 * Bounded per instance; a command is handed out once. What each command became is kept beside
 * it, in the command log (plugin-command-log.ts): this queue only holds what a beat hands out.
 */
export class PluginCommandQueue {
  private readonly pending = new Map<string, PluginCommand[]>();
  private readonly listeners = new Set<(instanceId: string) => void>();
  private readonly takers = new Set<(instanceId: string, commands: PluginCommand[]) => void>();
  /** Whether a command may still go out (not delivered elsewhere, not expired); unset: all may. */
  private deliverable: ((command: PluginCommand) => boolean) | undefined;

  /** Called after an instance's queue changed by `enqueue`, `withdraw` or `take` (a shared store writes it through). */
  onChange(listener: (instanceId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with the commands a beat took, as they go out in its reply. */
  onTaken(listener: (instanceId: string, commands: PluginCommand[]) => void): () => void {
    this.takers.add(listener);
    return () => this.takers.delete(listener);
  }

  /**
   * Sets the check a command passes as it is taken: one another replica already delivered (its
   * queue came back from Redis older than that delivery) is dropped instead of going out twice.
   */
  deliverOnly(check: (command: PluginCommand) => boolean): void {
    this.deliverable = check;
  }

  /** The instance's pending commands, left in place. */
  peek(instanceId: string): readonly PluginCommand[] | undefined {
    return this.pending.get(instanceId);
  }

  /** How many commands wait for the instance's next beat. */
  size(instanceId: string): number {
    return this.pending.get(instanceId)?.length ?? 0;
  }

  /** Sets an instance's pending commands as another replica (or the data dir) left them (none: undefined). */
  replace(instanceId: string, commands: PluginCommand[] | undefined): void {
    if (commands && commands.length > 0) this.pending.set(instanceId, commands.slice(0, LIMITS.commandsPerReply));
    else this.pending.delete(instanceId);
  }

  /** Queues a command; false when the instance already has the maximum pending. */
  enqueue(instanceId: string, command: PluginCommand): boolean {
    const queue = this.pending.get(instanceId) ?? [];
    if (queue.length >= LIMITS.commandsPerReply) return false;
    queue.push(command);
    this.pending.set(instanceId, queue);
    this.changed(instanceId);
    return true;
  }

  /** Takes a command back before a beat collects it (it expired); false when it was not waiting. */
  withdraw(instanceId: string, commandId: string): boolean {
    const queue = this.pending.get(instanceId);
    const index = queue?.findIndex((command) => command.id === commandId) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    if (queue.length === 0) this.pending.delete(instanceId);
    this.changed(instanceId);
    return true;
  }

  /** Takes the instance's pending commands (none: undefined, so the beat path allocates nothing). */
  take(instanceId: string): PluginCommand[] | undefined {
    if (this.pending.size === 0) return undefined;
    const queue = this.pending.get(instanceId);
    if (!queue) return undefined;
    this.pending.delete(instanceId);
    this.changed(instanceId);
    const deliverable = this.deliverable;
    const commands = deliverable ? queue.filter((command) => deliverable(command)) : queue;
    if (commands.length === 0) return undefined;
    for (const taker of this.takers) taker(instanceId, commands);
    return commands;
  }

  /** Forgets the commands of a removed instance. */
  drop(instanceId: string): void {
    this.pending.delete(instanceId);
  }

  private changed(instanceId: string): void {
    for (const listener of this.listeners) listener(instanceId);
  }
}
