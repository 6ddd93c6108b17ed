/**
 * The API for plugins. Importing it does not start the agent; `@vigil/agent/register` does.
 */
export { ServiceManager } from './services/service-manager';
export type { ServiceType } from './services/service-manager';
export { HeartbeatService } from './services/heartbeat-service';
export type { ExtInfo, ExtInfoProvider } from './services/heartbeat-service';
export { definePlugin } from './plugins/define-plugin';
export type { InterceptorDeclaration, PluginDefinition, ServiceDeclaration } from './plugins/define-plugin';
export type { ExecuteContext, InterceptorHooks } from './plugins/interceptor';
