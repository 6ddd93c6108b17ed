import type { InterceptorHooks } from './interceptor';

/** One method to intercept, and the hooks to run around it. */
export interface InterceptorDeclaration extends InterceptorHooks {
  /** Module whose exports hold the method: a Node built-in (`net`, `node:net`) or a package the app can require. */
  module: string;
  /** Dotted path inside the module's exports to the object owning the method, e.g. `Server.prototype`; none for the exports themselves. */
  export?: string;
  /** Name of the method on that object. */
  method: string;
}

/**
 * What a plugin's entry module exports (as `module.exports` or `default`). The plugin's name and
 * version come from its package.json, so they cannot disagree with what is installed.
 */
export interface PluginDefinition {
  interceptors?: InterceptorDeclaration[];
}

/** Declares a plugin; it returns its argument and exists for type checking. */
export function definePlugin(definition: PluginDefinition): PluginDefinition {
  return definition;
}

/** The PluginDefinition in a plugin's entry module exports; throws naming what is wrong with it. */
export function pluginDefinitionFrom(moduleExports: unknown): PluginDefinition {
  const definition = isObject(moduleExports) && 'default' in moduleExports ? moduleExports.default : moduleExports;
  if (!isObject(definition)) throw new TypeError('the entry module does not export a plugin definition object');
  const { interceptors } = definition;
  if (interceptors === undefined) return {};
  if (!Array.isArray(interceptors)) throw new TypeError('interceptors must be an array');
  interceptors.forEach((declaration: unknown, index) => checkDeclaration(declaration, `interceptors[${index}]`));
  return { interceptors: interceptors as InterceptorDeclaration[] };
}

function checkDeclaration(declaration: unknown, where: string): void {
  if (!isObject(declaration)) throw new TypeError(`${where} must be an object`);
  for (const key of ['module', 'method'] as const) {
    const value = declaration[key];
    if (typeof value !== 'string' || value === '') throw new TypeError(`${where}.${key} must be a non-empty string`);
  }
  if (declaration.export !== undefined && typeof declaration.export !== 'string') {
    throw new TypeError(`${where}.export must be a string`);
  }
  for (const hook of ['before', 'after', 'onThrow'] as const) {
    if (declaration[hook] !== undefined && typeof declaration[hook] !== 'function') {
      throw new TypeError(`${where}.${hook} must be a function`);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
