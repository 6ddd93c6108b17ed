import { z } from 'zod';
import { LIMITS, PLUGIN_SETTING_TYPES } from './constants.js';

/**
 * Hot plugging and dynamic configuration on the wire (issue 22). Commands to install, uninstall or
 * upgrade a plugin ride beat replies like disable/enable (`pluginCommandSchema`, with `version`);
 * a plugin's declared settings and the configuration version it applied ride full beats in its
 * plugin entry; new configuration rides beat replies (`config`). All fields are optional: agents
 * and backends that know none of them keep working, so the protocol version stays 1.
 */

const settingName = z
  .string()
  .min(1)
  .max(LIMITS.extInfoKeyLength)
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'must start with a letter and hold only letters, digits, _ . -');

/** One setting's value: what its declared type says (`string[]`: a list of strings). */
export const settingValueSchema = z.union([
  z.string().max(LIMITS.settingValueLength),
  z.number().finite(),
  z.boolean(),
  z.array(z.string().max(LIMITS.settingValueLength)).max(LIMITS.settingListItems),
]);

/** A set of settings' values by name. */
export const settingValuesSchema = z
  .record(settingName, settingValueSchema)
  .refine((values) => Object.keys(values).length <= LIMITS.pluginSettings, { message: `at most ${LIMITS.pluginSettings} settings` });

/** One setting a plugin declares (its name is the key): type, default, what it does. */
export const settingDeclarationSchema = z.object({
  type: z.enum(PLUGIN_SETTING_TYPES),
  default: settingValueSchema.optional(),
  description: z.string().max(LIMITS.extInfoValueLength).optional(),
});

/** The settings a plugin declares, by name (in its full-beat plugin entry). */
export const settingDeclarationsSchema = z
  .record(settingName, settingDeclarationSchema)
  .refine((settings) => Object.keys(settings).length <= LIMITS.pluginSettings, {
    message: `at most ${LIMITS.pluginSettings} settings`,
  });

/**
 * Configuration for one plugin in a beat reply: the version and the whole set of values (not a
 * diff: an agent that missed a version still ends with the right values). Sent while the agent's
 * beats report another applied version and have not reported this one refused.
 */
export const configDeliverySchema = z.object({
  plugin: z.string().min(1).max(LIMITS.nameLength),
  version: z.number().int().positive(),
  values: settingValuesSchema,
});
