import type { PluginCommand } from '../protocol';
import type { AgentEvents } from '../events/agent-events';
import type { AgentHealthService } from '../services/agent-health-service';
import type { AgentHeartbeatService } from '../services/agent-heartbeat-service';
import type { HotPlugging } from './hot-plugging';
import type { Instrumentation } from './instrumentation';

/**
 * Carries out the backend's plugin commands, one at a time in the order they came (an install
 * waits for the one before it to finish). Disabling a plugin unwraps its interceptors
 * everywhere, marks it disabled in the heartbeat's plugin list (it does nothing, so it is not
 * shown as running) and stops counting its health indicators; enabling it undoes all three. Both
 * are idempotent. Installs, upgrades and uninstalls go to HotPlugging. Each command's outcome is
 * reported as an event carrying its id.
 */
export class PluginControl {
  /** The commands accepted so far, run in turn; never rejects. */
  private queue: Promise<void> = Promise.resolve();
  /** Commands queued and not finished: while there are none, a switch takes effect at once. */
  private pending = 0;

  constructor(
    private readonly instrumentation: Instrumentation,
    private readonly heartbeat: AgentHeartbeatService,
    private readonly events: AgentEvents,
    private readonly health: AgentHealthService,
    private readonly hotPlugging?: HotPlugging,
  ) {}

  /**
   * Carries out the commands in order: a disable or enable at once unless an install, upgrade
   * or uninstall is still running, the rest queued. The promise settles when all are done.
   */
  apply(commands: readonly PluginCommand[]): Promise<void> {
    for (const command of commands) {
      if (this.pending === 0 && (command.type === 'plugin.enable' || command.type === 'plugin.disable')) {
        this.switchPlugin(command);
        continue;
      }
      this.pending += 1;
      this.queue = this.queue
        .then(() => this.applyOne(command))
        .catch((error: unknown) => this.failed(command, error))
        .finally(() => {
          this.pending -= 1;
        });
    }
    return this.queue;
  }

  private async applyOne(command: PluginCommand): Promise<void> {
    switch (command.type) {
      case 'plugin.enable':
      case 'plugin.disable':
        this.switchPlugin(command);
        return;
      case 'plugin.install':
        return this.hot(command).install(command);
      case 'plugin.upgrade':
        return this.hot(command).upgrade(command);
      case 'plugin.uninstall':
        return this.hot(command).uninstall(command);
    }
  }

  private hot({ type }: PluginCommand): HotPlugging {
    if (this.hotPlugging === undefined) throw new Error(`${type} is not supported here`);
    return this.hotPlugging;
  }

  private switchPlugin({ id, type, plugin }: PluginCommand): void {
    const attributes = { commandId: id, command: id, plugin };
    const enable = type === 'plugin.enable';
    try {
      const was = this.instrumentation.isEnabled(plugin);
      this.instrumentation.setEnabled(plugin, enable);
      this.heartbeat.setPluginEnabled(plugin, enable);
      this.health.setPluginEnabled(plugin, enable);
      const state = enable ? 'enabled' : 'disabled';
      const message = `plugin ${plugin} ${was === enable ? `was already ${state}` : state} (command ${id})`;
      this.events.report(enable ? 'normal' : 'important', `plugin.${state}`, message, attributes);
    } catch (error) {
      this.failed({ id, type, plugin }, error);
    }
  }

  private failed({ id, type, plugin }: PluginCommand, error: unknown): void {
    const attributes = { commandId: id, command: id, plugin };
    this.events.report('important', 'plugin.command-failed', `command ${id} (${type} ${plugin}) failed`, attributes, error);
  }
}
