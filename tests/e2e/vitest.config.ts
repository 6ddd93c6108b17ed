import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Real processes and a real browser: give them time, and run files one after another
    // so the two cores are not oversubscribed.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false,
    // expect.poll waits for a condition; its default of 1 s is a race on a busy machine.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
