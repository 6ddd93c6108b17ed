import { settingDeclarationsSchema, settingValuesSchema, type SettingDeclaration, type SettingValues } from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';
import { array, count, countOrNull, object, text, textOrNull } from '../../api/shape';
import { configApiPath, type ConfigScope } from './config-route';

/** The configuration version an instance runs, and a later one its plugin refused (kept the one it ran). */
export interface AppliedVersion {
  instanceId: string;
  version: number;
  rejected: number | null;
  /** The version meant for it: the service's, or a later one of its own overrides. */
  target: number;
}

/** `GET .../config`: the current values of a service (or an instance's overrides), and who runs which version. */
export interface PluginConfig {
  service: string;
  plugin: string;
  /** Set for an instance's overrides. */
  instanceId: string | null;
  /** 0: never set through the API (instances run their config file and defaults). */
  version: number;
  values: SettingValues;
  /** The settings the plugin declares, as its instances report them. */
  settings: Readonly<Record<string, SettingDeclaration>>;
  updatedAt: number | null;
  updatedBy: string | null;
  applied: AppliedVersion[];
}

/** One version in the history, newest first. */
export interface ConfigVersion {
  version: number;
  values: SettingValues;
  updatedAt: number;
  updatedBy: string;
  comment: string | null;
  /** The version this one copied back, for a rollback. */
  rollbackOf: number | null;
}

const parseValues = withSchema(settingValuesSchema);
const parseSettings = withSchema(settingDeclarationsSchema);

function parseConfig(body: unknown): PluginConfig {
  const f = object(body, '(body)');
  return {
    service: text(f.service, 'service'),
    plugin: text(f.plugin, 'plugin'),
    instanceId: textOrNull(f.instanceId, 'instanceId'),
    version: count(f.version, 'version'),
    values: parseValues(f.values ?? {}),
    settings: parseSettings(f.settings ?? {}),
    updatedAt: countOrNull(f.updatedAt, 'updatedAt'),
    updatedBy: textOrNull(f.updatedBy, 'updatedBy'),
    applied: array(f.applied ?? [], 'applied').map((entry, i) => {
      const a = object(entry, `applied.${i}`);
      return {
        instanceId: text(a.instanceId, `applied.${i}.instanceId`),
        version: count(a.version, `applied.${i}.version`),
        rejected: countOrNull(a.rejected, `applied.${i}.rejected`),
        target: count(a.target, `applied.${i}.target`),
      };
    }),
  };
}

function parseHistory(body: unknown): ConfigVersion[] {
  return array(object(body, '(body)').versions, 'versions').map((entry, i) => {
    const v = object(entry, `versions.${i}`);
    return {
      version: count(v.version, `versions.${i}.version`),
      values: parseValues(v.values),
      updatedAt: count(v.updatedAt, `versions.${i}.updatedAt`),
      updatedBy: text(v.updatedBy, `versions.${i}.updatedBy`),
      comment: textOrNull(v.comment, `versions.${i}.comment`),
      rollbackOf: countOrNull(v.rollbackOf, `versions.${i}.rollbackOf`),
    };
  });
}

/** The version an answer names (a saved config, a rollback's new version). */
const parseVersion = (body: unknown) => count(object(body, '(body)').version, 'version');

export const fetchConfig = (scope: ConfigScope, signal?: AbortSignal) => requestJson(configApiPath(scope), parseConfig, { signal });

export const fetchHistory = (scope: ConfigScope, signal?: AbortSignal) =>
  requestJson(`${configApiPath(scope)}/history`, parseHistory, { signal });

/** Saves a new version: the whole set of values (for an instance, its overrides); answers its number. */
export const saveConfig = (scope: ConfigScope, values: Record<string, unknown>, comment: string) =>
  requestJson(configApiPath(scope), parseVersion, {
    method: 'PUT',
    body: { values, ...(comment.trim() ? { comment: comment.trim() } : {}) },
  });

/** Makes a copy of an earlier version the current one; answers the new version's number. */
export const rollbackConfig = (scope: ConfigScope, version: number) =>
  requestJson(`${configApiPath(scope)}/rollback`, parseVersion, { method: 'POST', body: { version } });
