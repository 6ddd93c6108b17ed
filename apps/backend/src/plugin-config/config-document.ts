import { CONFIG_HISTORY_LIMIT, configVersionSchema, type ConfigVersion, type SettingValues } from '@vigil/protocol';
import { z } from 'zod';

/**
 * One change: a version of the service's values (`instanceId` null) or of one instance's
 * overrides. Each scope's latest change is the values in force there.
 */
export const configChangeSchema = configVersionSchema.extend({ instanceId: z.string().nullable() });
export type ConfigChange = z.output<typeof configChangeSchema>;

/**
 * Everything kept about one plugin's configuration in one service: the counter that numbers
 * its versions, the values in force (the service's and each overriding instance's latest
 * change), and the history of changes, oldest first, bounded.
 */
export const configDocumentSchema = z.object({
  service: z.string().min(1),
  plugin: z.string().min(1),
  /** The last version handed out; every change, at any scope, takes the next one. */
  version: z.number().int().nonnegative(),
  base: configChangeSchema.nullable(),
  overrides: z.record(z.string(), configChangeSchema),
  history: z.array(configChangeSchema),
});
export type ConfigDocument = z.output<typeof configDocumentSchema>;

/** What a change brings; its version and time are the document's to give. */
export interface ChangeInput {
  instanceId: string | null;
  values: SettingValues;
  updatedBy: string;
  comment: string | null;
  rollbackOf: number | null;
}

export function emptyDocument(service: string, plugin: string): ConfigDocument {
  return { service, plugin, version: 0, base: null, overrides: {}, history: [] };
}

/** The document after a change made at `now` (a new object: the one given is left as it was). */
export function withChange(document: ConfigDocument, input: ChangeInput, now: number): ConfigDocument {
  const change: ConfigChange = {
    version: document.version + 1,
    instanceId: input.instanceId,
    values: input.values,
    updatedAt: now,
    updatedBy: input.updatedBy,
    comment: input.comment,
    rollbackOf: input.rollbackOf,
  };
  const history = [...document.history, change];
  if (history.length > CONFIG_HISTORY_LIMIT) history.splice(0, history.length - CONFIG_HISTORY_LIMIT);
  return {
    ...document,
    version: change.version,
    base: input.instanceId === null ? change : document.base,
    overrides: input.instanceId === null ? document.overrides : { ...document.overrides, [input.instanceId]: change },
    history,
  };
}

/**
 * The change an instance runs with: the later of the service's latest and its own overrides'
 * (a change at either scope makes a newer version than both, so this number changes exactly when
 * the instance's values may have). Null while neither was ever set.
 */
export function latestFor(document: ConfigDocument, instanceId: string): ConfigChange | null {
  const own = document.overrides[instanceId] ?? null;
  if (own === null || (document.base !== null && document.base.version > own.version)) return document.base;
  return own;
}

/** The instance's values: the service's, its overrides over them. */
export function effectiveValues(document: ConfigDocument, instanceId: string): SettingValues {
  const own = document.overrides[instanceId];
  return own ? { ...document.base?.values, ...own.values } : (document.base?.values ?? {});
}

/** The changes at one scope (the service's: null), newest first, as the history API shows them. */
export function historyOf(document: ConfigDocument, instanceId: string | null): ConfigVersion[] {
  const versions: ConfigVersion[] = [];
  for (let i = document.history.length - 1; i >= 0; i--) {
    const { instanceId: scope, ...version } = document.history[i]!;
    if (scope === instanceId) versions.push(version);
  }
  return versions;
}

/** A change of that scope still in the history; undefined when there is none. */
export function findVersion(document: ConfigDocument, instanceId: string | null, version: number): ConfigChange | undefined {
  return document.history.find((change) => change.version === version && change.instanceId === instanceId);
}

/** A document's key in maps and stores: service and plugin, unambiguous whatever they contain. */
export function documentKey(service: string, plugin: string): string {
  return JSON.stringify([service, plugin]);
}
