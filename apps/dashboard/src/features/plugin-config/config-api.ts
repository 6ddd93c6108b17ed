import { configHistorySchema, configVersionSchema, pluginConfigSchema, type AppliedConfig } from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';
import { configApiPath, type ConfigScope } from './config-route';

/**
 * `GET .../config`: a scope's values (a service's, or an instance's overrides), the settings the
 * instances declare, and the version each instance applied (`applied`: `version` it runs,
 * `rejected` a version its `onChange` refused, `target` the version meant for it).
 */
export type { ConfigVersion, PluginConfig } from '@vigil/protocol';
export type AppliedVersion = AppliedConfig;

const parseConfig = withSchema(pluginConfigSchema);
const parseHistory = (body: unknown) => withSchema(configHistorySchema)(body).versions;
/** A rollback answers the new version. */
const parseVersion = withSchema(configVersionSchema);
/** A save answers the configuration with its new version. */
const versionOfConfig = (body: unknown) => parseConfig(body).version;

export const fetchConfig = (scope: ConfigScope, signal?: AbortSignal) => requestJson(configApiPath(scope), parseConfig, { signal });

export const fetchHistory = (scope: ConfigScope, signal?: AbortSignal) =>
  requestJson(`${configApiPath(scope)}/history`, parseHistory, { signal });

/** Saves a new version: the whole set of values (for an instance, its overrides); answers its number. */
export const saveConfig = (scope: ConfigScope, values: Record<string, unknown>, comment: string) =>
  requestJson(configApiPath(scope), versionOfConfig, {
    method: 'PUT',
    body: { values, ...(comment.trim() ? { comment: comment.trim() } : {}) },
  });

/** Makes a copy of an earlier version the current one; answers the new version's number. */
export const rollbackConfig = async (scope: ConfigScope, version: number) =>
  (await requestJson(`${configApiPath(scope)}/rollback`, parseVersion, { method: 'POST', body: { version } })).version;
