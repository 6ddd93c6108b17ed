import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dot-properties';
import type { SettingDeclarations, SettingValue } from '../services/config-service';
import { parseSettingText, type SettingValues } from './setting-values';

export interface SettingsFile {
  /** Where the plugin's settings file is, or would be. */
  file: string;
  /** The values it sets that fit the declarations. */
  values: SettingValues;
  /** One line naming every key that was left out and why; undefined when the file is fine or absent. */
  warning: string | undefined;
}

/**
 * Where a plugin's settings file is: `<name>.properties` in the `plugins` folder beside the
 * agent's config.properties (`vigil/plugins/template.properties`, `vigil/plugins/@acme/db.properties`),
 * whatever `plugins.dir` says: the file is the service's, not the plugin's, so an npm package's
 * plugin is configured without touching node_modules, and plugins shared between services in one
 * `plugins.dir` are configured per service.
 */
export function settingsFileOf(settingsDir: string, pluginName: string): string {
  return path.join(settingsDir, `${pluginName}.properties`);
}

/**
 * Reads a plugin's settings file (Sermant-style properties). A missing file sets nothing; a key
 * the plugin does not declare, or a value its declared type refuses, is left out, and named in
 * the one warning line.
 */
export function readSettingsFile(settingsDir: string, pluginName: string, declarations: SettingDeclarations): SettingsFile {
  const file = settingsFileOf(settingsDir, pluginName);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const warning = missing
      ? undefined
      : `settings of plugin ${pluginName}: ${file} cannot be read (${(error as Error).message}); using the defaults`;
    return { file, values: {}, warning };
  }
  // Without the `path` flag dot-properties returns a flat key -> string map.
  const properties = parse(text) as Record<string, string>;
  const values: Record<string, SettingValue> = {};
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(properties)) {
    const declaration = Object.hasOwn(declarations, key) ? declarations[key] : undefined;
    if (declaration === undefined) {
      problems.push(`${key}: not a setting of ${pluginName}`);
      continue;
    }
    const parsed = parseSettingText(declaration.type, raw);
    if ('problem' in parsed) problems.push(`${key}: ${parsed.problem}`);
    else values[key] = parsed.value;
  }
  const warning = problems.length === 0 ? undefined : `settings of plugin ${pluginName} in ${file}, ignored: ${problems.join('; ')}`;
  return { file, values: Object.freeze(values), warning };
}
