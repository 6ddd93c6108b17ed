#!/usr/bin/env node
// `node scripts/node-versions.mjs [--json] [major...]` (default 22 24): makes sure a Node binary
// of each major is in a cache folder outside the repo, installing the missing ones once from the
// npm registry (Node's official binaries are published there as `node-<platform>-<arch>`), and
// prints each as `<version> <path>` (or a JSON array of { version, path }).
// The cache is $VIGIL_NODE_CACHE, else $XDG_CACHE_HOME/vigil/node, else ~/.cache/vigil/node.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const json = args.includes('--json');
const majors = args.filter((arg) => arg !== '--json').map(Number);
if (majors.some((major) => !Number.isInteger(major) || major < 1))
  throw new Error(`usage: node-versions.mjs [--json] [major...]: ${args.join(' ')}`);
if (majors.length === 0) majors.push(22, 24);

const cache = process.env.VIGIL_NODE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'vigil', 'node');
const binaryPackage = `node-${process.platform}-${process.arch}`;
const binaryOf = (major) => path.join(cache, 'node_modules', `node${major}`, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

const missing = majors.filter((major) => !existsSync(binaryOf(major)));
if (missing.length > 0) {
  // One package.json lists every major ever asked for, so installing one keeps the others.
  mkdirSync(cache, { recursive: true });
  const manifestFile = path.join(cache, 'package.json');
  const manifest = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : { private: true, dependencies: {} };
  for (const major of missing) manifest.dependencies[`node${major}`] = `npm:${binaryPackage}@^${major}`;
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`installing Node ${missing.join(', ')} (${binaryPackage}) into ${cache}\n`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: cache,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (npm.status !== 0) throw new Error(`npm install in ${cache} failed (exit ${npm.status})`);
}

const binaries = majors.map((major) => {
  const binary = binaryOf(major);
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${binary} is ${version}, not Node ${major}`);
  return { version, path: binary };
});
console.log(json ? JSON.stringify(binaries) : binaries.map(({ version, path: file }) => `${version} ${file}`).join('\n'));
