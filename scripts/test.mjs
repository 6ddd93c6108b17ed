#!/usr/bin/env node
// `npm test`: runs every workspace's tests through turbo (builds first), then prints one
// summary line per suite and a total. Exits non-zero if turbo failed, any test failed, or a
// suite left no report (it crashed before reporting).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const workspaces = JSON.parse(
  spawnSync('npm', ['query', '.workspace'], { cwd: root, encoding: 'utf8' }).stdout || '[]',
).filter((ws) => ws.scripts?.test);
const reportOf = (ws) => join(root, ws.location, 'test-results', 'vitest.json');
for (const ws of workspaces) rmSync(reportOf(ws), { force: true });

const turbo = spawnSync('npx', ['turbo', 'run', 'test', '--continue', '--concurrency=1', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
});

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
console.log('\n== Test summary ==');
for (const ws of workspaces) {
  if (!existsSync(reportOf(ws))) {
    missing += 1;
    console.log(`${ws.name}: no report (the suite did not run to the end)`);
    continue;
  }
  const r = JSON.parse(readFileSync(reportOf(ws), 'utf8'));
  const s = r.numPendingTests + r.numTodoTests;
  // A file that failed outside any test (a hook, an import) counts as one failure.
  const brokenFiles = r.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed'),
  ).length;
  const f = r.numFailedTests + brokenFiles;
  passed += r.numPassedTests;
  failed += f;
  skipped += s;
  console.log(`${ws.name}: ${r.numPassedTests} passed, ${f} failed${s ? `, ${s} skipped` : ''}`);
}
console.log(`total: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(turbo.status !== 0 || failed > 0 || missing > 0 ? 1 : 0);
