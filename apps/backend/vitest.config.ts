import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC instead of esbuild for the tests' TypeScript: it emits decorator metadata (from
  // tsconfig's emitDecoratorMetadata), as tsc does for the build, so Nest injects constructor
  // parameters by their types in tests too, without an @Inject per parameter.
  plugins: [swc.vite()],
  test: {
    include: ['src/**/*.test.ts'],
    // A safety net on a busy 2-core CI machine, not a speed goal: tests wait for conditions.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for a condition; its default of 1 s is a race on a busy machine.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
