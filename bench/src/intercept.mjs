#!/usr/bin/env node
/**
 * What one intercepted call costs: ns per call of a small method (sync, and async awaited) called
 * unwrapped, through a hand-written wrapper, and through the agent's wrapper (packages/agent
 * interceptor.ts, `wrap()`) with no interceptors, with empty before/after hooks (declaring no
 * parameter, and declaring the context), with a before hook that reads the args, and with that
 * before plus an after (the shape of the http-timing plugin). Each variant runs in a fresh
 * process (one variant's type feedback must not slow another's call sites), the variants
 * alternate over the rounds, and each figure is the median of its rounds, in CPU time of the
 * process; the wrappers' figures are also given as ns above unwrapped.
 * Run by `npm run bench:agent` (the figure `Vigil wrapper with empty hooks vs unwrapped`), or alone:
 *
 *   node bench/src/intercept.mjs [--rounds N (5)] [--calls N (2000000 sync; async a tenth)] [--smoke]
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { cores, pinned } from './lib/processes.mjs';
import { printTable } from './lib/report.mjs';
import { fmt, median } from './lib/stats.mjs';

export const WRAPPER_GOAL_NS = 30;
export const VARIANTS = [
  'unwrapped',
  'hand-written wrapper',
  'Vigil, no interceptors',
  'Vigil, empty before/after',
  'Vigil, empty before(ctx)/after(ctx)',
  'Vigil, before reads args',
  'Vigil, before reads args + after',
];
const self = fileURLToPath(import.meta.url);

/** Runs one variant in this process: prints `ns <sync> <async>`. */
async function runVariant(variant, calls) {
  const require = createRequire(import.meta.url);
  const { wrap } = require(join(dirname(require.resolve('@vigil/agent/package.json')), 'dist', 'plugins', 'interceptor.js'));
  const target = {
    base: 1,
    add(a, b) {
      return a + b + this.base;
    },
    async addAsync(a, b) {
      return a + b + this.base;
    },
  };
  let seen = 0;
  const hooks = {
    'Vigil, no interceptors': undefined,
    'Vigil, empty before/after': { before() {}, after() {} },
    // Hooks that declare the context but leave it alone: the wrapper cannot tell they do not use it.
    'Vigil, empty before(ctx)/after(ctx)': {
      before(_ctx) {},
      after(_ctx) {},
    },
    'Vigil, before reads args': {
      before(ctx) {
        seen += ctx.args[0];
      },
    },
    // The shape of bench:agent's http-timing plugin: a before that reads an argument, an after that reads the call.
    'Vigil, before reads args + after': {
      before(ctx) {
        seen += ctx.args[0];
      },
      after(ctx) {
        if (ctx.result === 0) seen += 1;
      },
    },
  }[variant];
  if (variant === 'hand-written wrapper') {
    // What one would write by hand around a method: the same before/after points, nothing else.
    for (const method of ['add', 'addAsync']) {
      const original = target[method];
      const before = () => {};
      const after = () => {};
      target[method] = function (a, b) {
        before();
        const result = original.call(this, a, b);
        after();
        return result;
      };
    }
  } else if (variant.startsWith('Vigil')) {
    const interceptors = hooks === undefined ? [] : [{ pluginName: 'bench', hooks }];
    wrap(target, 'add', interceptors);
    wrap(target, 'addAsync', interceptors);
  }
  const sync = () => {
    let sum = 0;
    for (let i = 0; i < calls; i++) sum += target.add(i, 1);
    return sum;
  };
  const asyncCalls = Math.max(1, Math.round(calls / 10));
  const asyncLoop = async () => {
    let sum = 0;
    for (let i = 0; i < asyncCalls; i++) sum += await target.addAsync(i, 1);
    return sum;
  };
  // Warm up to optimised code, then time.
  sync();
  await asyncLoop();
  // CPU time of this process, not wall time: on a shared machine the wall clock also counts the
  // time other processes held the core.
  const cpuNs = (from) => {
    const { user, system } = process.cpuUsage(from);
    return (user + system) * 1000;
  };
  let t = process.cpuUsage();
  const s1 = sync();
  const syncNs = cpuNs(t) / calls;
  t = process.cpuUsage();
  const s2 = await asyncLoop();
  const asyncNs = cpuNs(t) / asyncCalls;
  if (!Number.isFinite(s1 + s2 + seen)) throw new Error('unreachable');
  console.log(`ns ${syncNs} ${asyncNs}`);
}

/** Every variant in fresh processes, alternating; medians of ns per call. */
export function measureInterception({ rounds = 5, calls = 2_000_000 } = {}) {
  const ns = Object.fromEntries(VARIANTS.map((v) => [v, { sync: [], async: [] }]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const argv = [self, '--variant', variant, '--calls', String(calls)];
      const [cmd, args] = pinned ? ['taskset', ['-c', String(cores.server), process.execPath, ...argv]] : [process.execPath, argv];
      const result = spawnSync(cmd, args, { encoding: 'utf8' });
      const m = /^ns ([\d.]+) ([\d.]+)$/m.exec(result.stdout);
      if (result.status !== 0 || !m) throw new Error(`intercept variant ${variant} failed: ${result.stderr}`);
      ns[variant].sync.push(Number(m[1]));
      ns[variant].async.push(Number(m[2]));
    }
  }
  const figures = {};
  for (const v of VARIANTS) figures[v] = { sync: median(ns[v].sync), async: median(ns[v].async) };
  return figures;
}

export function interceptionRows(figures) {
  const base = figures.unwrapped;
  return VARIANTS.map((v) => [
    v,
    fmt(figures[v].sync, 1),
    v === 'unwrapped' ? '' : `+${fmt(figures[v].sync - base.sync, 1)}`,
    fmt(figures[v].async, 1),
    v === 'unwrapped' ? '' : `+${fmt(figures[v].async - base.async, 1)}`,
  ]);
}
export const INTERCEPTION_HEADERS = ['call', 'sync ns/call', 'added', 'async ns/call (awaited)', 'added'];

if (process.argv[1] === self) {
  const args = parseArgs();
  const variant = args.string('variant', undefined);
  const calls = args.number('calls', 2_000_000, 200_000);
  if (variant) {
    await runVariant(variant, calls);
  } else {
    const figures = measureInterception({ rounds: args.number('rounds', 5, 1), calls });
    printTable(INTERCEPTION_HEADERS, interceptionRows(figures));
    const added = figures['Vigil, empty before/after'].sync - figures.unwrapped.sync;
    console.log(`Vigil wrapper with empty hooks vs unwrapped: +${fmt(added, 1)} ns per call (goal <= ${WRAPPER_GOAL_NS})`);
  }
}
