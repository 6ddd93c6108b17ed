import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Folder of the built dashboard (`apps/dashboard/dist`), or null when it has not been built. */
export function findDashboardAssets(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('@vigil/dashboard/package.json');
    const dist = join(dirname(manifest), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : null;
  } catch {
    return null;
  }
}
