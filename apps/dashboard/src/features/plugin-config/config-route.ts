import { routeHref } from '../../routing/hash-route';

/** Whose configuration of a plugin: a service's values, or one instance's overrides of some of them. */
export type ConfigScope = { kind: 'service'; service: string; plugin: string } | { kind: 'instance'; instanceId: string; plugin: string };

const PATTERN = /^\/(services|instances)\/([^/]+)\/plugins\/([^/]+)\/config$/;

/** `/services/:service/plugins/:plugin/config` or `/instances/:id/plugins/:plugin/config`; null for any other path. */
export function parseConfigPath(path: string): ConfigScope | null {
  const match = PATTERN.exec(path);
  if (!match) return null;
  const [, kind, owner = '', plugin = ''] = match;
  try {
    const name = decodeURIComponent(plugin);
    return kind === 'services'
      ? { kind: 'service', service: decodeURIComponent(owner), plugin: name }
      : { kind: 'instance', instanceId: decodeURIComponent(owner), plugin: name };
  } catch {
    // A malformed escape (`%E0%A4`) names nothing.
    return null;
  }
}

/** The route path of a scope's config page. */
export function configPath(scope: ConfigScope): string {
  const owner =
    scope.kind === 'service' ? `services/${encodeURIComponent(scope.service)}` : `instances/${encodeURIComponent(scope.instanceId)}`;
  return `/${owner}/plugins/${encodeURIComponent(scope.plugin)}/config`;
}

export const configHref = (scope: ConfigScope) => routeHref(configPath(scope));

/** The API path of a scope's configuration (`GET|PUT`, and `/history`, `/rollback` under it). */
export const configApiPath = (scope: ConfigScope) => `/api/v1${configPath(scope)}`;
