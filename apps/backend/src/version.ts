import { readFileSync } from 'node:fs';

/** The backend package's version. */
export function backendVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
