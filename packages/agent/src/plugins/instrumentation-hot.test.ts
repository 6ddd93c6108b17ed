/** Plugins added, replaced and removed while their modules are already loaded (Instrumentation.stage / commit / remove). */
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { InterceptorDeclaration } from './define-plugin';
import { Instrumentation } from './instrumentation';

const file = path.resolve('/srv/app/lib.js');

function library() {
  class Store {
    get(key: string): string {
      return `value of ${key}`;
    }
  }
  return { Store, shout: (text: string) => text.toUpperCase(), whisper: (text: string) => text.toLowerCase(), limit: 3 };
}

function tagging(tag: string, declaration: Omit<InterceptorDeclaration, 'after'>): InterceptorDeclaration {
  return {
    ...declaration,
    after(ctx) {
      ctx.result = `${String(ctx.result)} ${tag}`;
    },
  };
}

describe('Instrumentation at run time', () => {
  const sync = vi.fn();
  let instrumentation: Instrumentation;
  beforeEach(() => {
    sync.mockClear();
    instrumentation = new Instrumentation({ appRoot: '/srv/app', syncBuiltinExports: sync });
  });

  it('binds a plugin to a module loaded before it, and removing it puts back the very functions it replaced', () => {
    const lib = library();
    const { shout } = lib;
    const get = lib.Store.prototype.get;
    instrumentation.addPlugin('resident', [tagging('resident', { module: './lib.js', method: 'whisper' })]);
    instrumentation.onModuleLoaded({ module: file, exports: lib });
    const whisperWrapper = lib.whisper;

    const staged = instrumentation.stage(
      'late',
      [
        tagging('late', { module: './lib.js', method: 'shout' }),
        tagging('late', { module: './lib.js', export: 'Store.prototype', method: 'get' }),
        tagging('late', { module: './lib.js', method: 'whisper' }),
      ],
      [],
    );
    // Staged is not live.
    expect(lib.shout('hi')).toBe('HI');
    instrumentation.commit(staged);
    expect(lib.shout('hi')).toBe('HI late');
    expect(new lib.Store().get('k')).toBe('value of k late');
    // After run in reverse: the plugin loaded first is outermost.
    expect(lib.whisper('HI')).toBe('hi late resident');
    expect(lib.whisper).toBe(whisperWrapper);

    instrumentation.remove('late');
    expect(lib.shout).toBe(shout);
    expect(lib.Store.prototype.get).toBe(get);
    expect(Object.hasOwn(lib.Store.prototype, 'get')).toBe(true);
    expect(lib.shout('hi')).toBe('HI');
    expect(lib.whisper('HI')).toBe('hi resident');
    expect(instrumentation.has('late')).toBe(false);
  });

  it('binds a plugin installed at run time to modules loaded after it, as at start', () => {
    instrumentation.commit(instrumentation.stage('late', [tagging('late', { module: './lib.js', method: 'shout' })], []));
    const lib = library();
    instrumentation.onModuleLoaded({ module: file, exports: lib });
    expect(lib.shout('hi')).toBe('HI late');
  });

  it('refuses the whole plugin, changing nothing, when one interceptor cannot be applied', () => {
    const lib = library();
    const { shout } = lib;
    instrumentation.onModuleLoaded({ module: file, exports: lib });
    expect(() =>
      instrumentation.stage(
        'bad',
        [tagging('bad', { module: './lib.js', method: 'shout' }), tagging('bad', { module: './lib.js', method: 'limit' })],
        [],
      ),
    ).toThrow('cannot intercept ./lib.js.limit: limit is not a function');
    expect(lib.shout).toBe(shout);
    expect(instrumentation.has('bad')).toBe(false);
  });

  it('replaces a plugin by its new version in one step: same wrappers, same place in the order, its switch kept', () => {
    const lib = library();
    instrumentation.addPlugin('first', [tagging('first', { module: './lib.js', method: 'shout' })]);
    instrumentation.addPlugin('p', [
      tagging('p1', { module: './lib.js', method: 'shout' }),
      tagging('p1', { module: './lib.js', method: 'whisper' }),
    ]);
    instrumentation.addPlugin('last', [tagging('last', { module: './lib.js', method: 'shout' })]);
    instrumentation.onModuleLoaded({ module: file, exports: lib });
    const { shout, whisper } = lib;
    expect(lib.shout('a')).toBe('A last p1 first');

    // Version 2 no longer intercepts whisper, and intercepts get.
    const staged = instrumentation.stage(
      'p',
      [
        tagging('p2', { module: './lib.js', method: 'shout' }),
        tagging('p2', { module: './lib.js', export: 'Store.prototype', method: 'get' }),
      ],
      [],
    );
    expect(lib.shout('a')).toBe('A last p1 first');
    instrumentation.commit(staged, 'p');
    expect(lib.shout).toBe(shout);
    expect(lib.shout('a')).toBe('A last p2 first');
    expect(lib.whisper).not.toBe(whisper);
    expect(lib.whisper('A')).toBe('a');
    expect(new lib.Store().get('k')).toBe('value of k p2');

    instrumentation.setEnabled('p', false);
    const upgradedAgain = instrumentation.stage('p', [tagging('p3', { module: './lib.js', method: 'shout' })], []);
    instrumentation.commit(upgradedAgain, 'p');
    expect(instrumentation.isEnabled('p')).toBe(false);
    expect(lib.shout('a')).toBe('A last first');
    instrumentation.setEnabled('p', true);
    expect(lib.shout('a')).toBe('A last p3 first');
  });

  it('syncs built-in exports once per commit and per removal', () => {
    const fakeHttp = { request: () => 'sent' };
    instrumentation.onModuleLoaded({ module: 'http', exports: fakeHttp });
    instrumentation.commit(instrumentation.stage('b', [tagging('b', { module: 'node:http', method: 'request' })], []));
    expect(fakeHttp.request()).toBe('sent b');
    expect(sync).toHaveBeenCalledTimes(1);
    instrumentation.remove('b');
    expect(fakeHttp.request()).toBe('sent');
    expect(sync).toHaveBeenCalledTimes(2);
  });
});
