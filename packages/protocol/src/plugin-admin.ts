import { z } from 'zod';
import { LIMITS, PLUGIN_COMMAND_TYPES } from './constants.js';

/**
 * The REST shapes of plugin commands (issue 22): install, uninstall, upgrade (and disable,
 * enable) a plugin on one instance or on many, and follow each command's state. The commands
 * themselves ride beat replies (`pluginCommandSchema` in schemas.ts).
 */

/** REST path listing plugin commands and their states. */
export const PLUGIN_COMMANDS_PATH = '/api/v1/plugin-commands';

/** REST path of the bulk commands: `POST /api/v1/plugins/:plugin/install|uninstall|upgrade`. */
export const PLUGINS_PATH = '/api/v1/plugins';

/**
 * A command's life: `queued` waits for its instance's next beat; `delivered` went out in a beat
 * reply; `succeeded` / `failed` the agent's outcome event said so (or `failed` with reason
 * `no outcome` when none came in time); `expired` was not delivered in time.
 */
export const PLUGIN_COMMAND_STATES = ['queued', 'delivered', 'succeeded', 'failed', 'expired'] as const;

/** States a command does not leave (but a late outcome still replaces `expired` and `failed: no outcome`). */
export const FINISHED_COMMAND_STATES: readonly (typeof PLUGIN_COMMAND_STATES)[number][] = ['succeeded', 'failed', 'expired'];

/** Most instances one bulk command may address (a service's live instances, or `instanceIds`). */
export const BULK_COMMAND_MAX_INSTANCES = 1000;

/** Most commands `GET /api/v1/plugin-commands` answers with. */
export const COMMAND_LIST_MAX = 1000;

const epochMs = z.number().int().nonnegative();

/** A plugin version as commands carry it: what a package.json `version` or a `<name>@<version>` folder holds. */
export const pluginVersionSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/, 'must be a version such as 1.2.0 (letters, digits and . + _ -)');

/** A plugin command and where it stands. */
export const pluginCommandStateSchema = z.object({
  /** The id the agent's outcome event carries back (attribute `command`). */
  id: z.string(),
  instanceId: z.string(),
  service: z.string(),
  type: z.enum(PLUGIN_COMMAND_TYPES),
  plugin: z.string(),
  /** The version asked for (install, upgrade); null: none given. */
  version: z.string().nullable(),
  state: z.enum(PLUGIN_COMMAND_STATES),
  /** Why it failed or expired (the agent's reason, `no outcome`, `not delivered in time`...); null otherwise. */
  reason: z.string().nullable(),
  /** Backend clock, epoch ms. */
  createdAt: epochMs,
  updatedAt: epochMs,
  /**
   * When it gives up: while `queued`, the delivery deadline (then `expired`); once `delivered`,
   * the outcome deadline (then `failed`, reason `no outcome`); once finished, the deadline it had.
   */
  expiresAt: epochMs,
});

/** What `GET /api/v1/plugin-commands` and the bulk commands answer. */
export const pluginCommandListSchema = z.object({ commands: z.array(pluginCommandStateSchema) });

/** What a command for one instance answers: `command` (as disable and enable always did), and the same in `commands` (as the bulk routes). */
export const pluginCommandSentSchema = z.object({ command: pluginCommandStateSchema, commands: z.tuple([pluginCommandStateSchema]) });

/** `POST /api/v1/instances/:id/plugins/:plugin/install|uninstall|upgrade` (the body may be left out). */
export const pluginCommandBodySchema = z
  .object({
    /** install / upgrade: the version to load; absent: the one the agent finds. */
    version: pluginVersionSchema.optional(),
  })
  .strict();

/** `POST /api/v1/plugins/:plugin/install|uninstall|upgrade`: exactly one of `service` and `instanceIds`. */
export const bulkPluginCommandBodySchema = z
  .object({
    version: pluginVersionSchema.optional(),
    /** Every instance of the service that is not lost or offline. */
    service: z.string().min(1).max(LIMITS.nameLength).optional(),
    instanceIds: z
      .array(z.string().min(1).max(LIMITS.idLength))
      .min(1)
      .max(BULK_COMMAND_MAX_INSTANCES, `at most ${BULK_COMMAND_MAX_INSTANCES} instances per command`)
      .refine((ids) => new Set(ids).size === ids.length, 'must not name an instance twice')
      .optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.service === undefined) === (body.instanceIds === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['service'], message: 'give exactly one of service and instanceIds' });
    }
  });

/** `GET /api/v1/plugin-commands`: filters (each exact), newest first. */
export const pluginCommandQuerySchema = z.object({
  instanceId: z.string().min(1).max(LIMITS.idLength).optional(),
  service: z.string().min(1).max(LIMITS.nameLength).optional(),
  plugin: z.string().min(1).max(LIMITS.nameLength).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(COMMAND_LIST_MAX, `must be at most ${COMMAND_LIST_MAX}`))
    .optional()
    .describe(`Most commands answered (default and most: ${COMMAND_LIST_MAX})`),
});
