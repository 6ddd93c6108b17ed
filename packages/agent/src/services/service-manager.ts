import { sharedGlobal } from '../shared-global';
import { currentPlugin } from '../plugins/plugin-context';

/**
 * What `getService` accepts: a service class (usually abstract) naming its registry key.
 * The key is a string, not the class object, because a plugin may import a different copy of
 * @vigil/agent than the one that started, and the two copies' classes are different objects.
 */
export interface ServiceType<T> {
  readonly serviceName: string;
  readonly prototype: T;
}

/** A service that hands each plugin its own view of itself (e.g. to attribute ext-info). */
export interface PluginScopedService<T> {
  forPlugin(pluginName: string): T;
}

const services = sharedGlobal('vigil.agent.services', () => new Map<string, unknown>());

/** Core services of the running agent, as in Sermant: `ServiceManager.getService(HeartbeatService)`. */
export const ServiceManager = {
  /**
   * The running service of `type`. Called while a plugin's code runs (its module loading, its
   * hooks), it returns a view bound to that plugin, so a plugin can keep the result in a
   * module-level constant. Throws when the agent has not started (e.g. in a plugin's own tests).
   */
  getService<T>(type: ServiceType<T>): T {
    const service = services.get(type.serviceName) as (T & Partial<PluginScopedService<T>>) | undefined;
    if (service === undefined) {
      throw new Error(`vigil agent service ${type.serviceName} is not available: the agent has not started`);
    }
    const plugin = currentPlugin();
    return plugin !== undefined && typeof service.forPlugin === 'function' ? service.forPlugin(plugin) : service;
  },
};

/** Makes `service` the running instance of `type`; called once by the agent at start. */
export function registerService<T>(type: ServiceType<T>, service: T): void {
  services.set(type.serviceName, service);
}

/** Whether a service of this name is running (a plugin cannot offer one under a taken name). */
export function hasService(serviceName: string): boolean {
  return services.has(serviceName);
}

/** Takes a service away (its plugin was uninstalled); `getService` then throws for it, as for a name never offered. */
export function unregisterService(serviceName: string): void {
  services.delete(serviceName);
}
