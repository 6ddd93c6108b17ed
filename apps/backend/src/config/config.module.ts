import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CLOCK, systemClock, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from './vigil-config.js';

/** Provides the parsed configuration and the clock to every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: VigilConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: VIGIL_CONFIG, useValue: config },
        { provide: CLOCK, useValue: clock },
      ],
      exports: [VIGIL_CONFIG, CLOCK],
    };
  }
}
