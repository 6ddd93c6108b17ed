/**
 * Output of a bench: tables on the terminal, and for full runs docs/benchmarks.md: the latest
 * run's table replaces the block between `<!-- latest:NAME -->` markers, and a dated row is
 * appended to the bench's history table (`## Runs: NAME`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { cores, pinned, repoRoot } from './processes.mjs';

export const docsFile = process.env.VIGIL_BENCH_DOCS ?? join(repoRoot, 'docs', 'benchmarks.md');
export const imagesDir = join(repoRoot, 'docs', 'images');

export function machine() {
  const model = cpus()[0]?.model.trim().replace(/\s+/g, ' ') ?? 'cpu';
  return `${cpus().length} x ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

export function pinning() {
  return pinned ? `server pinned to core ${cores.server}, load to core ${cores.load} (taskset)` : 'not pinned (no taskset or 1 core)';
}

/** The machine's load average, to judge how noisy the run was (other processes share it). */
export function loadNow() {
  return loadavg()[0];
}

export function loadConditions(before, after = loadNow()) {
  return `load avg 1 min ${before.toFixed(2)} before, ${after.toFixed(2)} after (${cpus().length} cores)`;
}

export function printTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export function markdownTable(headers, rows) {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
}

function readDocs(file = docsFile) {
  return existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
}

/** Appends a dated row to the bench's history table in docs/benchmarks.md (creating it if missing). */
export function appendRow(section, headers, cells) {
  const text = readDocs();
  const heading = `## Runs: ${section}`;
  const row = `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  if (!text.includes(heading)) {
    const table = `\n${heading}\n\n${markdownTable(headers, [])}\n${row}\n`;
    writeFileSync(docsFile, text.trimEnd() + '\n' + table);
    return;
  }
  const start = text.indexOf(heading);
  const next = text.indexOf('\n## ', start + heading.length);
  const end = next === -1 ? text.length : next;
  const body = text.slice(start, end).trimEnd() + '\n' + row + '\n';
  writeFileSync(docsFile, text.slice(0, start) + body + (next === -1 ? '' : text.slice(next)));
}

/**
 * Replaces the latest-run block of `name` in docs/benchmarks.md, or in `docs/<page>` when given
 * (appends one if missing).
 */
export function writeLatest(name, markdown, page) {
  const file = page ? join(repoRoot, 'docs', page) : docsFile;
  const text = readDocs(file);
  const open = `<!-- latest:${name} -->`;
  const close = `<!-- /latest:${name} -->`;
  const block = `${open}\n${markdown.trim()}\n${close}`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start !== -1 && end > start) {
    writeFileSync(file, text.slice(0, start) + block + text.slice(end + close.length));
  } else {
    writeFileSync(file, `${text.trimEnd()}\n\n## Latest full run: ${name}\n\n${block}\n`);
  }
}

export function today() {
  return new Date().toISOString().slice(0, 10);
}

export function stamp() {
  return new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** Terminal progress for long runs: a line every `everyMs` (more often on a TTY). */
export function progress(startedAt, text, state = { last: 0 }, everyMs = process.stdout.isTTY ? 1000 : 10_000) {
  const now = performance.now();
  if (now - state.last < everyMs) return state;
  state.last = now;
  const elapsed = ((now - startedAt) / 1000).toFixed(0).padStart(4);
  console.log(`[${elapsed} s] ${text}`);
  return state;
}
