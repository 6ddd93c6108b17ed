/**
 * What `npm test` promises about itself: no test asserts an elapsed time or gives up a wait under
 * 5 s (scripts/check-test-timing.mjs, which scripts/test.mjs also runs), and every environment
 * variable the tests read reaches them through turbo, which drops what turbo.json does not pass.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './harness.js';

interface TimingCheck {
  findTimingBounds(fileName: string, source: string): Array<{ line: number; text: string; why: string }>;
  checkRepository(root?: string): string[];
}
const timing = (await import(join(repoRoot, 'scripts', 'check-test-timing.mjs'))) as TimingCheck;

describe('the wall-clock check', () => {
  it('finds no bound under 5 s in the tests, beyond those listed with their reason', () => {
    expect(timing.checkRepository(repoRoot)).toEqual([]);
  });

  it('flags elapsed times asserted under 5 s and waits that give up sooner, naming the line', () => {
    const source = [
      'const SLACK_MS = 500;',
      "it('x', async () => {",
      '  expect(Date.now() - started).toBeLessThan(1000);',
      '  expect(afterSignalMs).toBeLessThanOrEqual(2 * SLACK_MS);',
      '  await vi.waitFor(() => expect(seen).toHaveLength(1));',
      '  await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 2000 });',
      "  await waitFor('the instance', probe, 4_000);",
      "  await expect.poll(() => status(), { timeout: SLACK_MS }).toBe('offline');",
      "  await page.locator('row').waitFor({ timeout: 1_500 });",
      '}, 3000);',
    ].join('\n');
    expect(timing.findTimingBounds('sample.test.ts', source).map((bound) => bound.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('lets generous waits, figures over 5 s and values that are not times pass', () => {
    const source = [
      "it('x', async () => {",
      '  expect(Date.now() - started).toBeLessThan(30_000);',
      '  await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 10_000 });',
      "  await waitFor('the instance', probe);",
      "  await expect.poll(() => status()).toBe('offline');",
      '  expect(list.total).toBeLessThan(2_700);',
      '  expect(status).toBeLessThan(500);',
      '});',
    ].join('\n');
    expect(timing.findTimingBounds('sample.test.ts', source)).toEqual([]);
  });
});

/** The names of the environment variables a file reads (`process.env.X`), in code, not in the apps it writes out as text. */
function envReads(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(repoRoot, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && node.expression.getText() === 'process.env') names.push(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

describe("turbo's environment passthrough", () => {
  it('passes every variable the tests, their harnesses and the benches they run read', () => {
    // The apps a bench or test starts (bench/src/apps) read what their starter sets for them.
    const sources = [
      '**/*.test.ts',
      'tests/e2e/src/*.ts',
      'bench/src/*.mjs',
      'bench/src/lib/*.mjs',
      'packages/agent/src/test-support/*.ts',
      'scripts/*.mjs',
    ];
    const files = execFileSync(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard', ...sources.map((glob) => `:(glob)${glob}`)],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter(Boolean);
    const read = new Set(files.flatMap(envReads));
    // Set by a test for the processes it starts, or not the test's concern.
    for (const own of ['NODE_OPTIONS']) read.delete(own);
    const turbo = JSON.parse(readFileSync(join(repoRoot, 'turbo.json'), 'utf8')) as {
      tasks: Record<string, { passThroughEnv?: string[] }>;
    };
    const testTasks = Object.entries(turbo.tasks).filter(([name]) => name === 'test' || name.endsWith('#test'));
    expect(testTasks.length).toBeGreaterThan(0);
    for (const [name, task] of testTasks) {
      const passed = (variable: string) =>
        (task.passThroughEnv ?? []).some((pattern) =>
          pattern.endsWith('*') ? variable.startsWith(pattern.slice(0, -1)) : variable === pattern,
        );
      expect([...read].filter((variable) => !passed(variable)).sort(), `turbo.json ${name}.passThroughEnv`).toEqual([]);
    }
    // The documented long runs are among them.
    expect([...read]).toEqual(expect.arrayContaining(['AGENT_OUTAGE_MS', 'FUZZ_RUNS', 'REDIS_SERVER']));
  });
});
