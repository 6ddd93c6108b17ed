#!/usr/bin/env node
// `npm test`: checks the tests for wall-clock bounds under 5 s (scripts/check-test-timing.mjs),
// lints the repo (`npm run lint`: ESLint with zero warnings, then Prettier's check), runs every
// workspace's tests through turbo (builds first), then prints one summary line per suite and a
// total. Exits non-zero if a bound was found, turbo failed, any test failed, a test was skipped
// that scripts/test-allowances.json does not list with its reason, lint found a problem, or a
// suite left no report (it crashed before reporting).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkRepository } from './check-test-timing.mjs';

const root = new URL('..', import.meta.url).pathname;
const workspaces = JSON.parse(spawnSync('npm', ['query', '.workspace'], { cwd: root, encoding: 'utf8' }).stdout || '[]').filter(
  (ws) => ws.scripts?.test,
);
const reportOf = (ws) => join(root, ws.location, 'test-results', 'vitest.json');
for (const ws of workspaces) rmSync(reportOf(ws), { force: true });

const timingProblems = checkRepository(root);
for (const problem of timingProblems) console.log(problem);
if (timingProblems.length > 0)
  console.log(`${timingProblems.length} wall-clock bound(s) under 5 s in tests (see scripts/check-test-timing.mjs)\n`);
const lint = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: root, stdio: 'inherit' });
if (lint.status !== 0) console.log('\nlint: problems above (npm run lint)\n');
const allowedSkips = JSON.parse(readFileSync(join(root, 'scripts', 'test-allowances.json'), 'utf8')).skipped;

const turbo = spawnSync('npx', ['turbo', 'run', 'test', '--continue', '--concurrency=1', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
});

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
const unlistedSkips = [];
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
  for (const file of r.testResults) {
    for (const t of file.assertionResults) {
      if (t.status !== 'pending' && t.status !== 'skipped' && t.status !== 'todo') continue;
      if (allowedSkips.some((entry) => entry.name === t.fullName)) continue;
      unlistedSkips.push(`${file.name.slice(root.length)}: ${t.fullName}`);
    }
  }
}
console.log(`total: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (unlistedSkips.length > 0) {
  console.log('\nskipped, and not listed with a reason in scripts/test-allowances.json:');
  for (const name of unlistedSkips) console.log(`  ${name}`);
}
if (timingProblems.length > 0) console.log(`\n${timingProblems.length} wall-clock bound(s) under 5 s in tests, listed above`);
if (lint.status !== 0) console.log('\nlint failed (npm run lint), problems listed above');
process.exit(
  lint.status !== 0 || turbo.status !== 0 || failed > 0 || missing > 0 || unlistedSkips.length > 0 || timingProblems.length > 0 ? 1 : 0,
);
