import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './harness.js';

export interface NodeBinary {
  /** `v22.23.5` */
  version: string;
  major: number;
  path: string;
}

/**
 * The Node binaries a cross-version test runs on: the one running the tests, then one of each
 * other major in `majors`, from scripts/node-versions.mjs's cache outside the repo (installed
 * there from the npm registry the first time, which takes ~15 s; `.ci/run` does it before the
 * tests).
 */
export function nodeBinaries(majors: number[] = [22, 24]): NodeBinary[] {
  const current = { version: process.version, path: process.execPath };
  const others = majors.filter((major) => major !== majorOf(process.version));
  const installed =
    others.length === 0
      ? []
      : (JSON.parse(
          execFileSync(process.execPath, [join(repoRoot, 'scripts', 'node-versions.mjs'), '--json', ...others.map(String)], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          }),
        ) as Omit<NodeBinary, 'major'>[]);
  return [current, ...installed].map((binary) => ({ ...binary, major: majorOf(binary.version) }));
}

function majorOf(version: string): number {
  return Number(version.slice(1).split('.')[0]);
}
