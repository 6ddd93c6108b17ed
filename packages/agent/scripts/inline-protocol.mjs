// Build step after tsc: replaces dist/protocol.js (a require of @vigil/protocol/constants) with
// the protocol's own CommonJS build of that module, so the published agent carries the constants
// and needs no @vigil/protocol. A plain copy is enough because the constants module requires
// nothing; should it ever require something, this step fails instead of shipping a broken require.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const source = require.resolve('@vigil/protocol/constants');
const code = readFileSync(source, 'utf8');
if (/\brequire\s*\(/.test(code)) {
  throw new Error(`${source} requires another module; inline-protocol.mjs only copies dependency-free modules`);
}
const target = new URL('../dist/protocol.js', import.meta.url);
if (!readFileSync(target, 'utf8').includes('@vigil/protocol/constants')) {
  throw new Error('dist/protocol.js no longer re-exports @vigil/protocol/constants; update inline-protocol.mjs');
}
writeFileSync(target, `// Inlined from @vigil/protocol/constants at build time (scripts/inline-protocol.mjs).\n${code}`);
