import { describe, expect, it } from 'vitest';
import { configApiPath, configHref, parseConfigPath } from './config-route';

describe('config routes', () => {
  it('reads a service’s and an instance’s config page, names escaped', () => {
    expect(parseConfigPath('/services/orders%2Feu/plugins/%40acme%2Fdb/config')).toEqual({
      kind: 'service',
      service: 'orders/eu',
      plugin: '@acme/db',
    });
    expect(parseConfigPath('/instances/i-1/plugins/greeter/config')).toEqual({ kind: 'instance', instanceId: 'i-1', plugin: 'greeter' });
  });

  it('leaves other paths to other pages', () => {
    expect(parseConfigPath('/instances/i-1')).toBeNull();
    expect(parseConfigPath('/services/orders/plugins/greeter')).toBeNull();
    expect(parseConfigPath('/services/%E0%A4/plugins/greeter/config')).toBeNull();
  });

  it('builds the link and the API path that read back as the same scope', () => {
    const scope = { kind: 'service', service: 'orders/eu', plugin: '@acme/db' } as const;
    expect(parseConfigPath(configHref(scope).slice(1))).toEqual(scope);
    expect(configApiPath({ kind: 'instance', instanceId: 'i 1', plugin: 'greeter' })).toBe(
      '/api/v1/instances/i%201/plugins/greeter/config',
    );
  });
});
