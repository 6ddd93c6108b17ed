import { describe, expect, it } from 'vitest';
import { moduleKindOf, pluginDefinitionFrom } from './define-plugin';

const interceptor = (fields: Record<string, unknown>) => ({
  interceptors: [{ method: 'handle', before() {}, ...fields }],
});

describe('moduleKindOf', () => {
  it.each([
    ['http', 'builtin'],
    ['node:http', 'builtin'],
    ['node:test', 'builtin'],
    ['express', 'package'],
    ['@acme/web', 'package'],
    ['./src/server.js', 'file'],
    ['../shared/util.mjs', 'file'],
    ['/srv/app/main.cjs', 'file'],
  ])('%s is a %s', (module, kind) => {
    expect(moduleKindOf(module)).toBe(kind);
  });
});

describe('pluginDefinitionFrom', () => {
  it('accepts a definition as module.exports or as the default export, with empty lists for what is absent', () => {
    expect(pluginDefinitionFrom({})).toEqual({ interceptors: [], services: [] });
    const definition = interceptor({ module: 'http' });
    expect(pluginDefinitionFrom({ __esModule: true, default: definition }).interceptors).toEqual(definition.interceptors);
  });

  it.each(['^5.0.0', '>=4 <6', '4.x', '4.17.21', '>=4 <5 || ^5.1.0', '<6'])('accepts the bounded range %s for a package', (versions) => {
    expect(() => pluginDefinitionFrom(interceptor({ module: 'express', versions }))).not.toThrow();
  });

  it.each([
    [{ module: 'express' }, /interceptors\[0\]\.versions must be a semver range for package express/],
    [{ module: 'express', versions: 'soon' }, /"soon" is not a semver range/],
    [{ module: 'express', versions: '*' }, /"\*" has no upper bound/],
    [{ module: 'express', versions: '>=4' }, /">=4" has no upper bound/],
    [{ module: 'express', versions: '^4.0.0 || >=6' }, /has no upper bound/],
    [{ module: 'http', versions: '^20.0.0' }, /versions applies to packages only, not to builtin http/],
    [{ module: './server.js', versions: '1.x' }, /versions applies to packages only, not to file \.\/server\.js/],
    [{ module: 'express/lib/router', versions: '^5.0.0' }, /"express\/lib\/router" is not a package name/],
    [{ module: 'Express', versions: '^5.0.0' }, /"Express" is not a package name/],
    [{ module: '' }, /interceptors\[0\]\.module must be a non-empty string/],
    [{ module: 'http', export: 3 }, /interceptors\[0\]\.export must be a string/],
    [{ module: 'http', after: 'later' }, /interceptors\[0\]\.after must be a function/],
  ])('refuses %j', (fields, message) => {
    expect(() => pluginDefinitionFrom(interceptor(fields))).toThrow(message);
  });

  it('checks service declarations', () => {
    class Cache {
      static readonly serviceName = 'acme.cache';
    }
    expect(pluginDefinitionFrom({ services: [{ type: Cache, service: {} }] }).services).toHaveLength(1);
    expect(() => pluginDefinitionFrom({ services: [{ type: class {}, service: {} }] })).toThrow(
      /services\[0\]\.type must be a class with a static serviceName/,
    );
    expect(() => pluginDefinitionFrom({ services: [{ type: Cache }] })).toThrow(/services\[0\]\.service must be an object/);
    expect(() => pluginDefinitionFrom({ services: {} })).toThrow('services must be an array');
  });

  it('refuses what is not a definition', () => {
    expect(() => pluginDefinitionFrom(undefined)).toThrow('the entry module does not export a plugin definition object');
    expect(() => pluginDefinitionFrom({ interceptors: 'all' })).toThrow('interceptors must be an array');
  });
});
