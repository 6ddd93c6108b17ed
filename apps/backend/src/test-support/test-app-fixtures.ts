/**
 * The whole backend in the test's own process, as the route and integration tests start it (not
 * built into dist: tsconfig.build.json leaves out `*-fixtures.ts`). One place for what every such
 * test repeated: a fresh data dir, quiet logs, the app closed after each test.
 */
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach } from 'vitest';
import { createApp } from '../app.js';
import type { Clock } from '../common/clock.js';
import { loadConfig } from '../config/vigil-config.js';

export interface TestApps {
  /** Builds the app (not initialised, not listening): for a test that wraps a part before it serves. */
  create(env?: NodeJS.ProcessEnv, clock?: Clock): Promise<NestFastifyApplication>;
  /** Builds and initialises the app, ready for `app.inject` (Fastify's routes registered). */
  start(env?: NodeJS.ProcessEnv, clock?: Clock): Promise<NestFastifyApplication>;
  /** Stops closing an app after the test (the test closes it itself). */
  release(app: NestFastifyApplication): void;
}

/** Call once at the top of a test file: every app it starts is closed after each test. */
export function testApps(name: string): TestApps {
  const apps: NestFastifyApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  const create = async (env: NodeJS.ProcessEnv = {}, clock?: Clock) => {
    const dir = mkdtempSync(join(tmpdir(), `vigil-${name}-`));
    const app = await createApp(loadConfig({ VIGIL_DATA_DIR: dir, VIGIL_LOG_LEVEL: 'fatal', ...env }), clock);
    apps.push(app);
    return app;
  };
  return {
    create,
    async start(env = {}, clock) {
      const app = await create(env, clock);
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      return app;
    },
    release(app) {
      const index = apps.indexOf(app);
      if (index >= 0) apps.splice(index, 1);
    },
  };
}
