import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const agentRoot = path.resolve(__dirname, '..', '..');
export const register = path.join(agentRoot, 'dist', 'register.js');
export const fixtures = path.join(agentRoot, 'test', 'fixtures');

/** How each module system attaches the agent. */
export const attach = {
  esm: ['--import', pathToFileURL(register).href],
  cjs: ['--require', register],
} as const;

/** Child tests run the built agent (turbo builds before test); say so clearly when it is missing. */
export function requireBuilt(...files: string[]): void {
  for (const file of [register, ...files]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build @vigil/agent (and @vigil/plugin-template) first`);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From start to exit. */
  ms: number;
}

export interface NodeRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** Kills the process if it still runs, and waits for it. */
  stop(): Promise<Exit>;
}

/** Starts `node <args>` in `cwd`, without any VIGIL_* or NODE_OPTIONS of the test runner leaking in. */
export function runNode(cwd: string, args: readonly string[], env: Record<string, string> = {}): NodeRun {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VIGIL_') && key !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, args, { cwd, env: { ...inherited, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const startedAt = Date.now();
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - startedAt })));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The agent's start lines in a process's stderr. */
export const startLines = (stderr: string): string[] => stderr.match(/vigil agent \S+ started: /g) ?? [];
