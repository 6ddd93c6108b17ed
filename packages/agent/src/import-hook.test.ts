/** The import hook's account of ES modules imported without its wrapper (what a run-time install may not patch). */
import { describe, expect, it } from 'vitest';
import { trackImports } from './import-hook';

describe('trackImports', () => {
  const app = 'file:///srv/app/main.mjs';

  it('notes what an import resolved unwrapped, by URL and by bare specifier, and nothing the wrapper handled', () => {
    const applied: string[][] = [];
    const tracker = trackImports({ applyOptions: ({ include }) => applied.push(include) }, ['express']);
    expect(applied).toEqual([['express']]);
    // Unwrapped imports of the app's module and of a package.
    tracker.resolved('./lib/extra.mjs', { parentURL: app, conditions: ['import'] }, { url: 'file:///srv/app/lib/extra.mjs' });
    tracker.resolved('fastify', { parentURL: app, conditions: ['import'] }, { url: 'file:///srv/app/node_modules/fastify/fastify.js' });
    // The entry module itself (no parent): it is never wrapped.
    tracker.resolved('/srv/app/main.mjs', { parentURL: undefined }, { url: app });
    // Wrapped: the wrapper's URL, and the wrapper importing the real module.
    tracker.resolved('express', { parentURL: app }, { url: 'file:///srv/app/node_modules/express/index.js?iitm=true' });
    tracker.resolved(
      'file:///srv/app/node_modules/express/index.js',
      { parentURL: 'file:///srv/app/node_modules/express/index.js?iitm=true' },
      {
        url: 'file:///srv/app/node_modules/express/index.js',
      },
    );
    // A require() seen by in-thread hooks, and a built-in.
    tracker.resolved('./lib/cjs.cjs', { parentURL: app, conditions: ['require'] }, { url: 'file:///srv/app/lib/cjs.cjs' });
    tracker.resolved('node:http', { parentURL: app }, { url: 'node:http' });

    const asked = [
      'file:///srv/app/lib/extra.mjs',
      'fastify',
      app,
      'express',
      'file:///srv/app/node_modules/express/index.js',
      'file:///srv/app/lib/cjs.cjs',
      'node:http',
    ];
    expect(tracker.extend([], asked)).toEqual(['file:///srv/app/lib/extra.mjs', 'fastify', app]);
  });

  it('extends the include list with a copy each time, keeping what it had', () => {
    const applied: string[][] = [];
    const tracker = trackImports({ applyOptions: ({ include }) => applied.push(include) }, ['express']);
    tracker.extend(['file:///srv/app/lib/greet.mjs'], []);
    tracker.extend([], []);
    expect(applied).toEqual([['express'], ['express', 'file:///srv/app/lib/greet.mjs']]);
  });
});
