import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module.js';
import { LeaseTicker } from './lease-ticker.js';

/**
 * Lease expiry: owns the lease tick (LeaseTicker), which drives whichever store holds the fleet.
 * The deadlines themselves live in lease-table.ts (memory) or in Redis (../store).
 */
@Module({
  imports: [StoreModule],
  providers: [LeaseTicker],
})
export class LeasesModule {}
