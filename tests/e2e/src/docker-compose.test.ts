import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './harness.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }>;
}

// No Docker engine runs here, so this checks what can be checked without one: the file parses,
// the services are wired to each other by the names they use, every build context and
// Dockerfile exists.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
    networks?: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
  };
  const services = compose.services;
  const backends = ['backend-a', 'backend-b'];

  it('defines Redis, two backend replicas, the load balancer on :8900 and the demo service', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', ...backends, 'lb', 'demo']));
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.lb?.ports).toContain('8900:8900');
    // Only the load balancer publishes 8900.
    for (const name of backends) expect(services[name]?.ports ?? []).not.toContain('8900:8900');
  });

  it('runs both replicas on the redis store of the compose Redis', () => {
    for (const name of backends) {
      const env = services[name]?.environment ?? {};
      expect(env).toMatchObject({ VIGIL_STORE: 'redis', VIGIL_REDIS_URL: 'redis://redis:6379' });
    }
  });

  it('balances :8900 over both replicas with the nginx config it mounts', () => {
    const mount = services.lb?.volumes?.find((v) => v.endsWith(':/etc/nginx/nginx.conf:ro'));
    expect(mount).toBeDefined();
    const conf = readFileSync(join(repoRoot, mount!.split(':')[0]!), 'utf8');
    expect(conf).toMatch(/listen 8900;/);
    for (const name of backends) expect(conf).toContain(`server ${name}:8900`);
    // socket.io's WebSocket upgrade passes through.
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
  });

  it('points the demo agent at both replicas, by service name', () => {
    const urls = (services.demo?.environment?.VIGIL_BACKEND_URL ?? '').split(',');
    expect(urls.map((url) => new URL(url).hostname)).toEqual(backends);
    for (const url of urls) expect(new URL(url).port).toBe('8900');
  });

  it('sets credentials, so clients behind port mapping are not refused by protected mode, and the agents hold a backend token', () => {
    // `${VAR:-default}`: what compose uses when VAR is not exported.
    const value = (raw: string) => raw.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');
    const all = Object.values(services);
    const backendTokens = all.flatMap((s) => (s.environment?.VIGIL_AGENT_TOKENS ? value(s.environment.VIGIL_AGENT_TOKENS).split(',') : []));
    expect(backendTokens.length).toBeGreaterThan(0);
    for (const name of backends) expect(services[name]?.environment?.VIGIL_AGENT_TOKENS).toBeDefined();
    expect(all.some((s) => s.environment?.VIGIL_ADMIN_PASSWORD || s.environment?.VIGIL_ADMIN_PASSWORD_HASH)).toBe(true);
    const agentTokens = all.flatMap((s) => (s.environment?.VIGIL_AGENT_TOKEN ? [value(s.environment.VIGIL_AGENT_TOKEN)] : []));
    expect(agentTokens.length).toBeGreaterThan(0);
    for (const token of agentTokens) expect(backendTokens.map((t) => t.split(':')[0])).toContain(token);
  });

  it('trusts exactly the load balancer as a proxy, at the fixed address it has on the stack network', () => {
    const lbAddress = services.lb?.networks?.default?.ipv4_address;
    expect(lbAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet ?? '';
    expect(lbAddress!.startsWith(subnet.split('.').slice(0, 3).join('.') + '.')).toBe(true);
    for (const name of backends) {
      const trusted = /^\$\{VIGIL_TRUSTED_PROXIES:-(.*)\}$/.exec(services[name]?.environment?.VIGIL_TRUSTED_PROXIES ?? '')?.[1];
      expect(trusted, name).toBe(lbAddress);
    }
  });

  it('points every build at an existing context and Dockerfile', () => {
    for (const [name, service] of Object.entries(services)) {
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
