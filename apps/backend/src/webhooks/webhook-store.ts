import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeIssues } from '@vigil/protocol';
import { webhookFileSchema, type StoredWebhook } from './webhook-schema.js';

/** What was found at start: the webhooks, or why the file could not be used and where it went. */
export interface LoadResult {
  webhooks: StoredWebhook[];
  problem?: string;
}

/** Where webhook settings are kept: the file (memory store) or Redis (redis store). */
export interface WebhookSettingsStore {
  /** Where, for log lines and error answers. */
  readonly path: string;
  load(): Promise<LoadResult>;
  /** Throws when the settings could not be saved; the change is then not applied. */
  save(webhooks: StoredWebhook[]): Promise<void>;
  /** Settings another replica saved (shared stores only). */
  watch?(listener: (webhooks: StoredWebhook[]) => void): () => void;
  close?(): Promise<void>;
}

/**
 * The webhook settings file. Every save writes a temp file beside it, flushes it to disk and
 * renames it over the old one, so a crash or a full disk leaves the old file or the new one,
 * never half of one. Mode 0600: the URLs carry the chat services' secret tokens.
 */
export class WebhookStore implements WebhookSettingsStore {
  constructor(readonly path: string) {}

  /**
   * A missing file means no webhooks. A file that cannot be read or parsed is renamed aside
   * (kept for whoever wants to repair it, and out of the way of the next save) and the
   * backend starts with no webhooks rather than not at all.
   */
  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { webhooks: [] };
      return this.setAside(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.setAside(`${this.path} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = webhookFileSchema.safeParse(json);
    if (!parsed.success) return this.setAside(`${this.path} is not a webhook settings file: ${describeIssues(parsed.error).join('; ')}`);
    return { webhooks: parsed.data.webhooks };
  }

  /** Throws the file system's error (EACCES, ENOSPC, EROFS...) when the settings could not be saved. */
  async save(webhooks: StoredWebhook[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${randomUUID()}.tmp`;
    try {
      const file = await open(temp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify({ version: 1, webhooks }, null, 2)}\n`);
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

  private async setAside(problem: string): Promise<LoadResult> {
    const aside = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.path, aside);
      return { webhooks: [], problem: `${problem}; moved it to ${aside} and started with no webhooks` };
    } catch (error) {
      return { webhooks: [], problem: `${problem}; could not move it aside (${(error as Error).message}); started with no webhooks` };
    }
  }
}
