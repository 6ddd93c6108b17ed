import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeIssues } from '@vigil/protocol';
import { alertRuleFileSchema, type StoredAlertRule } from './alert-rule-schema.js';

/** What was found at start: the rules, or why they could not be read. */
export interface RuleLoadResult {
  rules: StoredAlertRule[];
  problem?: string;
}

/** Where alert rules are kept: a file in the data dir (memory store) or Redis (redis store). */
export interface AlertRuleStore {
  /** Where, for log lines and error answers. */
  readonly path: string;
  load(): Promise<RuleLoadResult>;
  /** Throws when the rules could not be saved; the change is then not applied. */
  save(rules: StoredAlertRule[]): Promise<void>;
  /** Rules another replica saved (shared stores only), whole, after each of its saves. */
  watch?(listener: (rules: StoredAlertRule[]) => void): () => void;
  /** Shared stores: publishes how many instances each rule fires for on this replica (rule id -> count). */
  shareFiring?(counts: Record<string, number>, now: number): Promise<void>;
  /** Shared stores: the other live replicas' counts, summed by rule id. */
  othersFiring?(now: number): Promise<Map<string, number>>;
  close?(): Promise<void>;
}

/** Injection token of the store. */
export const ALERT_RULE_STORE = Symbol('ALERT_RULE_STORE');

/**
 * `<dataDir>/alert-rules.json`, written the way the webhook settings are: a temp file beside it,
 * flushed, renamed over the old one, so a crash or a full disk leaves the old rules or the new
 * ones, never half of a file.
 */
export class AlertRuleFile implements AlertRuleStore {
  constructor(readonly path: string) {}

  /**
   * A missing file means no rules. A file that cannot be read or parsed is renamed aside (kept for
   * whoever wants to repair it) and the backend starts with no rules rather than not at all.
   */
  async load(): Promise<RuleLoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { rules: [] };
      return this.setAside(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.setAside(`${this.path} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = alertRuleFileSchema.safeParse(json);
    if (!parsed.success) return this.setAside(`${this.path} is not an alert rules file: ${describeIssues(parsed.error).join('; ')}`);
    return { rules: parsed.data.rules };
  }

  async save(rules: StoredAlertRule[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${randomUUID()}.tmp`;
    try {
      const file = await open(temp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify({ version: 1, rules }, null, 2)}\n`);
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

  private async setAside(problem: string): Promise<RuleLoadResult> {
    const aside = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.path, aside);
      return { rules: [], problem: `${problem}; moved it to ${aside} and started with no alert rules` };
    } catch (error) {
      return { rules: [], problem: `${problem}; could not move it aside (${(error as Error).message}); started with no alert rules` };
    }
  }
}
