import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeIssues } from '@vigil/protocol';
import { z } from 'zod';
import { configDocumentSchema, documentKey, type ConfigDocument } from './config-document.js';

/** What was found at start: the configurations, or why they could not be read. */
export interface ConfigLoadResult {
  documents: ConfigDocument[];
  problem?: string;
}

/**
 * Where plugin configurations are kept: a file in the data dir (memory store) or Redis (redis
 * store). A save names the version it replaces, so two replicas changing the same plugin's
 * configuration at once cannot both take the same version number.
 */
export interface PluginConfigStore {
  /** Where, for log lines and error answers. */
  readonly path: string;
  load(): Promise<ConfigLoadResult>;
  /**
   * Saves `document` over the one at version `replaces` (0: none yet). Answers `saved`, or the
   * document kept now when another replica saved another version first (shared stores); throws
   * when it could not be saved (the change is then not applied).
   */
  save(document: ConfigDocument, replaces: number): Promise<'saved' | ConfigDocument>;
  /** Documents another replica saved, after each of its saves (shared stores only). */
  watch?(listener: (document: ConfigDocument) => void): () => void;
  close?(): Promise<void>;
}

/** Injection token of the store. */
export const PLUGIN_CONFIG_STORE = Symbol('PLUGIN_CONFIG_STORE');

/** `<dataDir>/plugin-config.json`; `version` lets a later release migrate the file instead of refusing it. */
const configFileSchema = z.object({ version: z.literal(1), configs: z.array(configDocumentSchema) });

/**
 * `<dataDir>/plugin-config.json`, every configuration and its history in one file, written the
 * way the webhook settings and alert rules are: a temp file beside it, flushed, renamed over the
 * old one, so a crash or a full disk leaves the old file or the new one, never half of one. One
 * backend writes it (several replicas use Redis), and its changes come one at a time.
 */
export class PluginConfigFile implements PluginConfigStore {
  private readonly documents = new Map<string, ConfigDocument>();

  constructor(readonly path: string) {}

  /**
   * A missing file means no configurations. A file that cannot be read or parsed is renamed
   * aside (kept for whoever wants to repair it) and the backend starts without them rather than
   * not at all.
   */
  async load(): Promise<ConfigLoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { documents: [] };
      return this.setAside(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.setAside(`${this.path} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = configFileSchema.safeParse(json);
    if (!parsed.success)
      return this.setAside(`${this.path} is not a plugin configuration file: ${describeIssues(parsed.error).join('; ')}`);
    this.documents.clear();
    for (const document of parsed.data.configs) this.documents.set(documentKey(document.service, document.plugin), document);
    return { documents: parsed.data.configs };
  }

  async save(document: ConfigDocument): Promise<'saved'> {
    const key = documentKey(document.service, document.plugin);
    const next = new Map(this.documents).set(key, document);
    await this.write([...next.values()]);
    this.documents.set(key, document);
    return 'saved';
  }

  private async write(configs: ConfigDocument[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${randomUUID()}.tmp`;
    try {
      const file = await open(temp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify({ version: 1, configs })}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined); // may never have been created
      throw error;
    }
  }

  private async setAside(problem: string): Promise<ConfigLoadResult> {
    const aside = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.path, aside);
      return { documents: [], problem: `${problem}; moved it to ${aside} and started with no plugin configurations` };
    } catch (error) {
      return {
        documents: [],
        problem: `${problem}; could not move it aside (${(error as Error).message}); started with no plugin configurations`,
      };
    }
  }
}
