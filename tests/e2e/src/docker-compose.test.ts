import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './harness.js';

// No Docker engine runs here, so this checks what can be checked without one: the file parses,
// names the services, and every build context and Dockerfile it points at exists.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; ports?: string[]; environment?: Record<string, string> }>;
  };

  it('defines the backend on :8900 and the demo service', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['backend', 'demo']));
    expect(compose.services.backend?.ports).toContain('8900:8900');
  });

  it('sets credentials, so clients behind port mapping are not refused by protected mode, and the agents hold a backend token', () => {
    // `${VAR:-default}`: what compose uses when VAR is not exported.
    const value = (raw: string) => raw.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');
    const services = Object.values(compose.services);
    const backendTokens = services.flatMap((s) => (s.environment?.VIGIL_AGENT_TOKENS ? value(s.environment.VIGIL_AGENT_TOKENS).split(',') : []));
    expect(backendTokens.length).toBeGreaterThan(0);
    expect(services.some((s) => s.environment?.VIGIL_ADMIN_PASSWORD || s.environment?.VIGIL_ADMIN_PASSWORD_HASH)).toBe(true);
    const agentTokens = services.flatMap((s) => (s.environment?.VIGIL_AGENT_TOKEN ? [value(s.environment.VIGIL_AGENT_TOKEN)] : []));
    expect(agentTokens.length).toBeGreaterThan(0);
    for (const token of agentTokens) expect(backendTokens.map((t) => t.split(':')[0])).toContain(token);
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
