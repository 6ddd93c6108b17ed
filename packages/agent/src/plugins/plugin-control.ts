import type { PluginCommand } from '../protocol';
import type { AgentEvents } from '../events/agent-events';
import type { AgentHealthService } from '../services/agent-health-service';
import type { AgentHeartbeatService } from '../services/agent-heartbeat-service';
import type { Instrumentation } from './instrumentation';

/**
 * Carries out the backend's plugin commands: disabling a plugin unwraps its interceptors
 * everywhere, marks it disabled in the heartbeat's plugin list (it does nothing, so it is not
 * shown as running) and stops counting its health indicators; enabling it undoes all three. Both are idempotent. Each
 * command's outcome is reported as an event carrying its id.
 */
export class PluginControl {
  constructor(
    private readonly instrumentation: Instrumentation,
    private readonly heartbeat: AgentHeartbeatService,
    private readonly events: AgentEvents,
    private readonly health: AgentHealthService,
  ) {}

  apply(commands: readonly PluginCommand[]): void {
    for (const command of commands) this.applyOne(command);
  }

  private applyOne({ id, type, plugin }: PluginCommand): void {
    const attributes = { commandId: id, plugin };
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
      this.events.report('important', 'plugin.command-failed', `command ${id} (${type} ${plugin}) failed`, attributes, error);
    }
  }
}
