#!/usr/bin/env node
// `npm run pack:agent [-- <folder>]`: builds @vigil/agent and packs it into one tarball that
// installs alone (the protocol's constants are inlined by the agent's build). Prints the
// tarball's absolute path as the last line of output. The folder defaults to the repo root.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const destination = path.resolve(process.argv[2] ?? root);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options });
  if (result.status !== 0) {
    process.stderr.write(result.stderr ?? '');
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  }
  return result.stdout;
}

run('npx', ['turbo', 'run', 'build', '--filter=@vigil/agent...', '--output-logs=errors-only'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
});
mkdirSync(destination, { recursive: true });
const [packed] = JSON.parse(
  run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: path.join(root, 'packages', 'agent') }),
);
console.log(path.join(destination, packed.filename));
