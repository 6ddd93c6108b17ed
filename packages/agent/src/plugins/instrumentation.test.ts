import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import type { InterceptorDeclaration } from './define-plugin';
import { Instrumentation } from './instrumentation';

const fakeLibDir = path.join(__dirname, '..', '..', 'test', 'fixtures', 'fake-lib');

/** A module's exports with one function and one class, fresh for each test. */
function library() {
  class Store {
    get(key: string): string {
      return `value of ${key}`;
    }
  }
  return { Store, shout: (text: string) => text.toUpperCase() };
}

/** A declaration whose after hook appends `tag` to string results. */
function tagging(tag: string, declaration: Omit<InterceptorDeclaration, 'after'>): InterceptorDeclaration {
  return {
    ...declaration,
    after(ctx) {
      ctx.result = `${String(ctx.result)} ${tag}`;
    },
  };
}

describe('Instrumentation', () => {
  const sync = vi.fn();
  let instrumentation: Instrumentation;
  beforeEach(() => {
    sync.mockClear();
    instrumentation = new Instrumentation({ appRoot: '/srv/app', syncBuiltinExports: sync });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('watches built-ins once whatever their spelling, packages by name, and app files by absolute path', () => {
    instrumentation.addPlugin('a', [
      { module: 'node:http', method: 'request' },
      { module: 'http', method: 'get' },
      { module: 'node:test', method: 'it' },
      { module: 'express', versions: '^5.0.0', method: 'Router' },
      { module: './src/jobs.js', method: 'run' },
    ]);
    instrumentation.addPlugin('b', [{ module: '../shared/util.mjs', method: 'format' }]);
    expect(instrumentation.watched()).toEqual({
      builtins: ['http', 'node:test'],
      packages: ['express'],
      files: [path.resolve('/srv/app/src/jobs.js'), path.resolve('/srv/shared/util.mjs')],
    });
  });

  it('runs interceptors in plugin load order, whatever order their modules were bound in', () => {
    const lib = library();
    instrumentation.addPlugin('first', [tagging('first', { module: './lib.js', export: 'Store.prototype', method: 'get' })]);
    instrumentation.addPlugin('second', [
      tagging('second', { module: './lib.js', export: 'Store.prototype', method: 'get' }),
      tagging('second again', { module: './lib.js', export: 'Store.prototype', method: 'get' }),
    ]);
    instrumentation.onModuleLoaded({ module: path.resolve('/srv/app/lib.js'), exports: lib });
    // afters run in reverse: the first plugin's is outermost.
    expect(new lib.Store().get('k')).toBe('value of k second again second first');
  });

  it('binds once when the same exports are reported twice (required and imported)', () => {
    const lib = library();
    instrumentation.addPlugin('p', [tagging('once', { module: './lib.js', method: 'shout' })]);
    const loaded = { module: path.resolve('/srv/app/lib.js'), exports: lib };
    instrumentation.onModuleLoaded(loaded);
    instrumentation.onModuleLoaded(loaded);
    expect(lib.shout('hi')).toBe('HI once');
  });

  it('disables a plugin everywhere it is bound and enables it again, other plugins untouched', () => {
    const lib = library();
    const original = lib.shout;
    instrumentation.addPlugin('a', [tagging('a', { module: './lib.js', method: 'shout' })]);
    instrumentation.addPlugin('b', [
      tagging('b', { module: './lib.js', method: 'shout' }),
      tagging('b', { module: './lib.js', export: 'Store.prototype', method: 'get' }),
    ]);
    instrumentation.onModuleLoaded({ module: path.resolve('/srv/app/lib.js'), exports: lib });
    const copied = lib.shout;

    instrumentation.setEnabled('b', false);
    expect(instrumentation.isEnabled('b')).toBe(false);
    expect(lib.shout('x')).toBe('X a');
    expect(new lib.Store().get('k')).toBe('value of k');
    expect(Object.hasOwn(lib.Store.prototype, 'get')).toBe(true);

    instrumentation.setEnabled('a', false);
    expect(lib.shout).toBe(original);
    // A copy taken while wrapped passes straight through.
    expect(copied('x')).toBe('X');

    instrumentation.setEnabled('a', true);
    instrumentation.setEnabled('b', true);
    expect(lib.shout('x')).toBe('X b a');
    expect(copied('x')).toBe('X b a');
    expect(new lib.Store().get('k')).toBe('value of k b');
  });

  it('refuses to switch a plugin it does not know', () => {
    expect(() => instrumentation.setEnabled('ghost', false)).toThrow('no plugin named ghost is loaded');
  });

  it('keeps the named exports of a CommonJS module imported from ESM in step with its exports', () => {
    const lib = library();
    const namespace = { default: lib, shout: lib.shout };
    instrumentation.addPlugin('p', [tagging('p', { module: './lib.cjs', method: 'shout' })]);
    instrumentation.onModuleLoaded({ module: path.resolve('/srv/app/lib.cjs'), exports: lib, namespace });
    expect(namespace.shout('hi')).toBe('HI p');
    instrumentation.setEnabled('p', false);
    expect(namespace.shout).toBe(lib.shout);
    expect(namespace.shout('hi')).toBe('HI');
  });

  it('republishes built-in exports after every change to a built-in', () => {
    const fakeBuiltin = { request: () => 'sent' };
    instrumentation.addPlugin('p', [tagging('p', { module: 'node:http', method: 'request' })]);
    instrumentation.onModuleLoaded({ module: 'http', exports: fakeBuiltin });
    expect(fakeBuiltin.request()).toBe('sent p');
    expect(sync).toHaveBeenCalledOnce();
    instrumentation.setEnabled('p', false);
    expect(sync).toHaveBeenCalledTimes(2);
  });

  it('checks the package version from its package.json, once per plugin and package', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const lib = library();
    instrumentation.addPlugin('old', [
      tagging('old', { module: 'fake-lib', versions: '^0.9.0', method: 'shout' }),
      tagging('old', { module: 'fake-lib', versions: '^0.9.0', method: 'shout' }),
    ]);
    instrumentation.addPlugin('current', [tagging('current', { module: 'fake-lib', versions: '>=1.4.0 <2', method: 'shout' })]);
    instrumentation.onModuleLoaded({ module: 'fake-lib', exports: lib, packageDir: fakeLibDir });
    expect(lib.shout('x')).toBe('X current');
    expect(warn.mock.calls.map((call) => call[0])).toEqual([
      'plugin old: fake-lib 1.4.0 is outside its supported range ^0.9.0; not intercepted',
    ]);
  });

  it('warns about a declaration it cannot bind, and binds the others', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const lib = library();
    instrumentation.addPlugin('p', [
      { module: './lib.js', export: 'Nothing.prototype', method: 'get' },
      { module: './lib.js', method: 'missing' },
      tagging('p', { module: './lib.js', method: 'shout' }),
    ]);
    instrumentation.onModuleLoaded({ module: path.resolve('/srv/app/lib.js'), exports: lib });
    expect(lib.shout('x')).toBe('X p');
    expect(warn.mock.calls.map((call) => call[1])).toEqual([
      'plugin p: cannot intercept ./lib.js:Nothing.prototype.get: export Nothing.prototype is not an object',
      'plugin p: cannot intercept ./lib.js.missing: missing is not a function',
    ]);
  });
});
