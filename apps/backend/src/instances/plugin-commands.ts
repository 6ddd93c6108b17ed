import { randomUUID } from 'node:crypto';
import { LIMITS, type PluginCommand } from '@vigil/protocol';

/**
 * Plugin commands waiting for their instance's next beat, which carries them in its reply.
 * Bounded per instance; a command is handed out once.
 */
export class PluginCommandQueue {
  private readonly pending = new Map<string, PluginCommand[]>();
  private readonly listeners = new Set<(instanceId: string) => void>();

  /** Called after an instance's queue changed by `enqueue` or `take` (a shared store writes it through). */
  onChange(listener: (instanceId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The instance's pending commands, left in place. */
  peek(instanceId: string): readonly PluginCommand[] | undefined {
    return this.pending.get(instanceId);
  }

  /** Sets an instance's pending commands as another replica left them (none: undefined). */
  replace(instanceId: string, commands: PluginCommand[] | undefined): void {
    if (commands && commands.length > 0) this.pending.set(instanceId, commands.slice(0, LIMITS.commandsPerReply));
    else this.pending.delete(instanceId);
  }

  /** Queues a command, or returns null when the instance already has the maximum pending. */
  enqueue(instanceId: string, type: PluginCommand['type'], plugin: string): PluginCommand | null {
    const queue = this.pending.get(instanceId) ?? [];
    if (queue.length >= LIMITS.commandsPerReply) return null;
    const command: PluginCommand = { id: randomUUID(), type, plugin };
    queue.push(command);
    this.pending.set(instanceId, queue);
    for (const listener of this.listeners) listener(instanceId);
    return command;
  }

  /** Takes the instance's pending commands (none: undefined, so the beat path allocates nothing). */
  take(instanceId: string): PluginCommand[] | undefined {
    if (this.pending.size === 0) return undefined;
    const queue = this.pending.get(instanceId);
    if (queue) {
      this.pending.delete(instanceId);
      for (const listener of this.listeners) listener(instanceId);
    }
    return queue;
  }

  /** Forgets the commands of a removed instance. */
  drop(instanceId: string): void {
    this.pending.delete(instanceId);
  }
}
