import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SmokeResult {
  code: number | null;
  output: string;
  /** The last non-empty line: the bench's headline. */
  headline: string;
}

/** Runs `node bench/src/<bench>.mjs --smoke ...extra` and returns its output. */
export function runSmoke(bench: string, extra: string[] = [], timeoutMs = 170_000): Promise<SmokeResult> {
  const file = fileURLToPath(new URL(`../${bench}.mjs`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, '--smoke', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bench} --smoke did not finish in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = output.split('\n').filter((l) => l.trim() !== '');
      resolve({ code, output, headline: lines.at(-1) ?? '' });
    });
  });
}
