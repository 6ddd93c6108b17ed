import { Global, Module } from '@nestjs/common';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { AccessControl } from './access-control.js';
import { AccessHooks } from './access.hooks.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';

/** Who may beat, read and change what: protected mode, tokens, logins (see SECURITY.md). */
@Global()
@Module({
  providers: [
    { provide: AccessControl, useFactory: (config: VigilConfig) => new AccessControl(config.access), inject: [VIGIL_CONFIG] },
    AccessHooks,
    AuthService,
  ],
  controllers: [AuthController],
  exports: [AccessControl, AccessHooks],
})
export class AccessModule {}
