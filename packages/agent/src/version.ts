import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The agent package's version, reported in every full beat. Read at run time because
 * package.json sits outside tsc's rootDir; `..` is the package root from both src/ and dist/.
 */
export const AGENT_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
  .version;
