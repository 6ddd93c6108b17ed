import 'reflect-metadata';
import { AccessControl } from './access/access-control.js';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type VigilConfig } from './config/vigil-config.js';
import { findDashboardAssets } from './dashboard/dashboard-assets.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config: VigilConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`vigil backend: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const app = await createApp(config, undefined, log);
  if (!findDashboardAssets()) log.warn('dashboard not built: run `npm run build` to serve it at /');
  await app.listen({ port: config.port, host: config.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info(
    { port, lostAfterMs: config.lostAfterMs, removeAfterMs: config.removeAfterMs },
    `Vigil backend listening on ${config.access.tls ? 'https' : 'http'}://localhost:${port} (dashboard at /, API at /api/v1)`,
  );
  for (const line of new AccessControl(config.access).describe()) log.info(line);
}

main().catch((error: unknown) => {
  console.error('vigil backend: failed to start:', error);
  process.exit(1);
});
