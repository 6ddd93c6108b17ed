import { Global, Module } from '@nestjs/common';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { AccessControl } from './access-control.js';
import { AccessHooks } from './access.hooks.js';
import { AuthRoutes } from './auth.routes.js';

/** Who may beat, read and change what: protected mode, tokens, logins (see SECURITY.md). */
@Global()
@Module({
  providers: [
    { provide: AccessControl, useFactory: (config: VigilConfig) => new AccessControl(config.access), inject: [VIGIL_CONFIG] },
    AccessHooks,
    AuthRoutes,
  ],
  exports: [AccessControl, AccessHooks],
})
export class AccessModule {}
