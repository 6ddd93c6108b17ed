/**
 * The API for plugins, and for the application itself (its HealthService). Importing it does not
 * start the agent; `@vigil/agent/register` does, and then every import of @vigil/agent in the
 * process gets the running agent.
 */
export { ServiceManager } from './services/service-manager';
export type { ServiceType } from './services/service-manager';
export { HeartbeatService } from './services/heartbeat-service';
export type { ExtInfo, ExtInfoProvider } from './services/heartbeat-service';
export { HealthService } from './services/health-service';
export type { HealthStatus, IndicatorProvider, IndicatorResult } from './services/health-service';
export { ConfigService } from './services/config-service';
export type {
  ConfigListener,
  SettingDeclaration,
  SettingDeclarations,
  SettingType,
  SettingValue,
  SettingValueOf,
  SettingValuesOf,
} from './services/config-service';
export { definePlugin } from './plugins/define-plugin';
export type { InterceptorDeclaration, PluginDefinition, ServiceDeclaration } from './plugins/define-plugin';
export type { ExecuteContext, InterceptorHooks } from './plugins/interceptor';
