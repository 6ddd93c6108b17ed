import { defineConfig } from 'vitest/config';

// Smoke runs of every bench (a few seconds each, nothing written to docs/). They pin processes
// to cores and measure, so they run one at a time.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // expect.poll waits for a condition; its default of 1 s is a race on a busy machine.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
