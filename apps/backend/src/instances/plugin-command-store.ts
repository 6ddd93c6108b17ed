import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeIssues, pluginCommandStateSchema } from '@vigil/protocol';
import { z } from 'zod';
import type { PluginCommandLog, StoredCommand } from './plugin-command-log.js';

/** What was found at start: the commands, or why they could not be read. */
export interface CommandLoadResult {
  commands: StoredCommand[];
  problem?: string;
}

/** A change another replica made: commands in their new state, or ids forgotten, or (after a reconnection) the whole log. */
export type CommandChange = { commands: StoredCommand[] } | { forgotten: string[] } | { all: StoredCommand[] };

/**
 * Where plugin commands and their states are kept: a file in the data dir (memory store) or
 * Redis (redis store). With a shared store every change is a compare-and-set on the command's
 * `rev` there, so two replicas never both move one command (one delivery, one outcome).
 */
export interface PluginCommandStore {
  /** Where, for log lines. */
  readonly where: string;
  /** True when several replicas share it. */
  readonly shared: boolean;
  load(): Promise<CommandLoadResult>;
  /** Saves new commands; throws when they could not be saved (the API then answers 500 and nothing is queued). */
  add(commands: StoredCommand[]): Promise<void>;
  /** Saves a command's next state if it is still at `rev`; false when another replica changed it first. */
  replace(command: StoredCommand, rev: number): Promise<boolean>;
  /** A command as the store has it now (shared stores; a file store's log is the one in memory). */
  get(id: string): Promise<StoredCommand | undefined>;
  forget(ids: string[]): Promise<void>;
  watch?(listener: (change: CommandChange) => void): () => void;
  close(): Promise<void>;
}

export const PLUGIN_COMMAND_STORE = Symbol('PLUGIN_COMMAND_STORE');

export const storedCommandSchema = pluginCommandStateSchema.extend({ rev: z.number().int().positive() });

const commandFileSchema = z.object({ version: z.literal(1), commands: z.array(storedCommandSchema) });

/**
 * `<dataDir>/plugin-commands.json`: the whole command log, rewritten after changes the way the
 * webhook settings are (a temp file beside it, flushed, renamed over the old one), so a crash
 * leaves the old log or the new one, never half of a file. Changes close together share one
 * write: a write waiting to start takes every change made before it starts.
 */
export class PluginCommandFile implements PluginCommandStore {
  readonly shared = false;
  /** A write queued behind the running one, not started yet: later changes join it. */
  private queued: Promise<void> | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    readonly where: string,
    private readonly log: PluginCommandLog,
  ) {}

  /** A missing file means no commands; an unreadable one is renamed aside and the backend starts without them. */
  async load(): Promise<CommandLoadResult> {
    let text: string;
    try {
      text = await readFile(this.where, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { commands: [] };
      return this.setAside(`cannot read ${this.where}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.setAside(`${this.where} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = commandFileSchema.safeParse(json);
    if (!parsed.success) return this.setAside(`${this.where} is not a plugin commands file: ${describeIssues(parsed.error).join('; ')}`);
    return { commands: parsed.data.commands };
  }

  add(): Promise<void> {
    return this.save();
  }

  async replace(): Promise<boolean> {
    await this.save();
    return true;
  }

  get(): Promise<StoredCommand | undefined> {
    return Promise.resolve(undefined);
  }

  forget(): Promise<void> {
    return this.save();
  }

  /** Waits for the last write. */
  async close(): Promise<void> {
    await (this.queued ?? this.running).catch(() => undefined);
  }

  /** Writes the log as it is when the write starts; settles when a write holding every change so far is on disk. */
  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.running.then(() => {
      this.queued = null;
      return this.write(this.log.all());
    });
    this.queued = write;
    this.running = write.catch(() => undefined);
    return write;
  }

  private async write(commands: StoredCommand[]): Promise<void> {
    await mkdir(dirname(this.where), { recursive: true });
    const temp = `${this.where}.${randomUUID()}.tmp`;
    try {
      const file = await open(temp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify({ version: 1, commands })}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.where);
    } catch (error) {
      await unlink(temp).catch(() => undefined); // may never have been created
      throw error;
    }
  }

  private async setAside(problem: string): Promise<CommandLoadResult> {
    const aside = `${this.where}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.where, aside);
      return { commands: [], problem: `${problem}; moved it to ${aside} and started with no plugin commands` };
    } catch (error) {
      return {
        commands: [],
        problem: `${problem}; could not move it aside (${(error as Error).message}); started with no plugin commands`,
      };
    }
  }
}
