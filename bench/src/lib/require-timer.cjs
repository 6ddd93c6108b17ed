'use strict';
/**
 * Preload for bench:agent (`node --require <this file> --import @vigil/agent/register app`):
 * times every CommonJS module load (inclusive of what it loads in turn) for the first five
 * levels of nesting, and on exit writes them with the number of modules loaded and the heap in use
 * to the JSON file named by VIGIL_BENCH_REQUIRE_TIMES. It shows where the agent's start-up goes.
 */
const Module = require('node:module');
const { writeFileSync } = require('node:fs');

const file = process.env.VIGIL_BENCH_REQUIRE_TIMES;
if (file) {
  const original = Module._load;
  const loads = [];
  let depth = 0;
  Module._load = function load(request, parent) {
    const started = performance.now();
    depth++;
    try {
      return original.apply(this, arguments);
    } finally {
      depth--;
      if (depth <= 4) loads.push({ request, depth, parent: parent?.filename, ms: performance.now() - started });
    }
  };
  process.on('exit', () => {
    writeFileSync(
      file,
      JSON.stringify({
        loads,
        modules: Object.keys(require.cache).length,
        heapUsed: process.memoryUsage().heapUsed,
        rss: process.memoryUsage.rss(),
      }),
    );
  });
}
