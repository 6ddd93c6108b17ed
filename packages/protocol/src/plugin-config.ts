import { z } from 'zod';
import { settingDeclarationsSchema, settingValuesSchema } from './plugin-ops.js';

/**
 * Dynamic configuration over REST (issue 22, docs/plugin-config.md): a plugin's values for a
 * service, and per-instance overrides of single settings over them, versioned with one counter
 * per service and plugin, so each instance has one effective version to apply and report.
 */

/** `GET|PUT` a service's values of a plugin; `/history`, `/rollback` below it. */
export const SERVICE_PLUGIN_CONFIG_PATH = '/api/v1/services/:service/plugins/:plugin/config';
/** `GET|PUT` one instance's overrides of a plugin's settings; `/history`, `/rollback` below it. */
export const INSTANCE_PLUGIN_CONFIG_PATH = '/api/v1/instances/:id/plugins/:plugin/config';

/** Longest comment a change may carry. */
export const CONFIG_COMMENT_LENGTH = 1024;

/**
 * Changes kept per service and plugin (service values and overrides together), oldest dropped
 * first; the values in force are kept whatever the history holds.
 */
export const CONFIG_HISTORY_LIMIT = 100;

const version = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

/**
 * `PUT` body: the whole set of values at that scope (a setting left out falls back: to the
 * service's value for an override, to the instance's config file or the plugin's default for
 * the service), checked against the settings instances declare; and why, for the history.
 */
export const pluginConfigInputSchema = z
  .object({
    values: settingValuesSchema,
    comment: z.string().max(CONFIG_COMMENT_LENGTH).optional(),
  })
  .strict();

/** `POST .../rollback` body: the earlier version whose values become a new version. */
export const configRollbackSchema = z.object({ version: z.number().int().positive() }).strict();

/** What one instance reports of a plugin's configuration (its last full beat). */
export const appliedConfigSchema = z.object({
  instanceId: z.string(),
  /** The version it runs with (0: its config file and defaults). */
  version,
  /** A version its `onChange` refused (it kept the one it had); null: none. */
  rejected: z.number().int().positive().nullable(),
  /** The version it should run with: its effective version (service values and its overrides). */
  target: version,
});

/** A plugin's configuration at one scope, as `GET` and `PUT` answer it. */
export const pluginConfigSchema = z.object({
  service: z.string(),
  plugin: z.string(),
  /** null: the service's values; else the instance whose overrides these are. */
  instanceId: z.string().nullable(),
  /**
   * The service's: the version that set its values. An instance's: its effective version (the
   * later of the service's and its overrides'), the one it applies and reports. 0: never set.
   */
  version,
  /** The values set at this scope: the service's, or the instance's overrides. */
  values: settingValuesSchema,
  /** What an instance runs with: the service's values, its overrides over them (the service's: its values). */
  effective: settingValuesSchema,
  /** The settings the instances declare (name -> type, default, description). */
  settings: settingDeclarationsSchema,
  /** When and by whom `version` was made; null while never set. */
  updatedAt: epochMs.nullable(),
  updatedBy: z.string().nullable(),
  /** Each instance's applied version, from its last full beat. */
  applied: z.array(appliedConfigSchema),
});

/** One change in the history of a scope. */
export const configVersionSchema = z.object({
  version: z.number().int().positive(),
  values: settingValuesSchema,
  updatedAt: epochMs,
  /** The admin user (`admin`), the API token's name, or `anonymous` without access control. */
  updatedBy: z.string(),
  comment: z.string().nullable(),
  /** The version this one copied (a rollback); null: a change of its own. */
  rollbackOf: z.number().int().positive().nullable(),
});

/** `GET .../history`: the changes at that scope, newest first. */
export const configHistorySchema = z.object({ versions: z.array(configVersionSchema).max(CONFIG_HISTORY_LIMIT) });
